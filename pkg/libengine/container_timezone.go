package libengine

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/engine-oss/engine/pkg/specgen"
)

// unlinkLocaltime removes the image's /etc/localtime from the container's
// root filesystem when it is a symlink, before --tz mounts a zone file
// there: the runtime would follow the link and mount on the file it leads
// to (say /usr/share/zoneinfo/Etc/UTC), changing that zone in the container
// too. A regular file is simply mounted over. podman removes it as well.
func unlinkLocaltime(rootfs string) error {
	etc, err := securejoin.SecureJoin(rootfs, filepath.Dir(specgen.ContainerLocaltime))
	if err != nil {
		return fmt.Errorf("--tz: find /etc in the container: %w", err)
	}
	p := filepath.Join(etc, filepath.Base(specgen.ContainerLocaltime))
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("--tz: remove the image's %s link: %w", specgen.ContainerLocaltime, err)
	}
	return nil
}
