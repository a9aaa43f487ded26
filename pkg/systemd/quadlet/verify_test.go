package quadlet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sampleFiles has a quadlet file of every kind, with cross references.
var sampleFiles = map[string]string{
	"web.container": `[Unit]
Description=Web front end
Requires=db.container
After=db.container

[Container]
Image=quay.io/example/web:1
Exec=serve --title "My site"
Environment=A=1 "B=two words"
PublishPort=8080:80
Volume=data.volume:/data:Z
Volume=./html:/srv/html:ro
Network=app.network
HealthCmd=curl -f http://localhost/
Notify=healthy
Label=app=web
ReloadSignal=SIGHUP

[Service]
Restart=always
TimeoutStartSec=900

[Install]
WantedBy=multi-user.target default.target
`,
	"web.container.d/10-env.conf": "[Container]\nEnvironment=DEBUG=1\n",
	"db.container":                "[Container]\nImage=db.image\nMount=type=volume,source=data.volume,destination=/var/lib/db\nPod=app.pod\n",
	"data.volume":                 "[Volume]\nUser=1000\nGroup=1000\nLabel=tier=data\n",
	"app.network":                 "[Network]\nSubnet=10.89.0.0/24\nGateway=10.89.0.1\nNetworkDeleteOnStop=true\n",
	"app.pod":                     "[Pod]\nPublishPort=9090:90\n",
	"db.image":                    "[Image]\nImage=docker.io/library/postgres:16\n",
	"site.build":                  "[Build]\nImageTag=localhost/site\nSetWorkingDirectory=unit\n",
	"job@.container":              "[Container]\nImage=site.build\nExec=run %i\n[Service]\nType=oneshot\n[Install]\nWantedBy=default.target\nDefaultInstance=daily\n",
}

// TestSystemdVerify checks that systemd accepts the generated units.
func TestSystemdVerify(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	for _, user := range []bool{false, true} {
		t.Run(fmt.Sprintf("user=%v", user), func(t *testing.T) {
			t.Parallel()
			_, res := generateTree(t, sampleFiles, user)
			if len(res.Errors) > 0 {
				t.Fatal(res.Errors)
			}
			out := t.TempDir()
			if err := Write(out, res.Units); err != nil {
				t.Fatal(err)
			}
			args := []string{"verify", "--man=no"}
			if user {
				args = append(args, "--user")
			}
			for _, u := range res.Units {
				args = append(args, filepath.Join(out, u.Name))
			}
			cmd := exec.Command(analyze, args...)
			// A user manager needs a runtime directory, which a test has not.
			cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
			msg, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(string(msg), out) {
				t.Errorf("systemd-analyze %s: %v\n%s\n%s", strings.Join(args, " "), err, msg, unitsText(res))
			}
		})
	}
}
