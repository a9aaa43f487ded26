package libengine

import (
	"reflect"
	"syscall"
	"testing"

	"github.com/engine-oss/engine/pkg/specgen"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestCommitConfig(t *testing.T) {
	t.Parallel()
	img := imgspecv1.ImageConfig{
		Env: []string{"PATH=/bin", "A=image"}, Entrypoint: []string{"/entry"}, Cmd: []string{"default"},
		WorkingDir: "/srv", User: "nobody", Labels: map[string]string{"from": "image"},
	}
	empty := []string{""}
	for _, tc := range []struct {
		name string
		spec specgen.SpecGenerator
		want imgspecv1.ImageConfig
	}{
		{name: "nothing changed", want: img},
		{name: "command, env, workdir, user, labels, stop signal",
			spec: specgen.SpecGenerator{Command: []string{"run", "me"}, Env: map[string]string{"A": "ctr", "B": "new"},
				WorkDir: "/tmp", User: "root", Labels: map[string]string{"from": "ctr", "x": "y"}, StopSignal: syscall.SIGINT},
			want: imgspecv1.ImageConfig{Env: []string{"PATH=/bin", "A=ctr", "B=new"}, Entrypoint: []string{"/entry"},
				Cmd: []string{"run", "me"}, WorkingDir: "/tmp", User: "root", Labels: map[string]string{"from": "ctr", "x": "y"}, StopSignal: "SIGINT"}},
		{name: "entrypoint drops the image's command",
			spec: specgen.SpecGenerator{Entrypoint: &[]string{"/other"}},
			want: imgspecv1.ImageConfig{Env: img.Env, Entrypoint: []string{"/other"}, WorkingDir: "/srv", User: "nobody", Labels: img.Labels}},
		{name: "empty entrypoint clears it",
			spec: specgen.SpecGenerator{Entrypoint: &empty, Command: []string{"sh"}},
			want: imgspecv1.ImageConfig{Env: img.Env, Cmd: []string{"sh"}, WorkingDir: "/srv", User: "nobody", Labels: img.Labels}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := commitConfig(img, &tc.spec); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("commitConfig = %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if img.Env[1] != "A=image" || img.Labels["from"] != "image" {
		t.Fatal("commitConfig changed the image's config")
	}
}
