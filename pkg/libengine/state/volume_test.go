package state

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func vol(name string) *Volume {
	return &Volume{
		Name: name, Driver: "local", Mountpoint: "/v/" + name + "/_data", Created: time.Unix(200, 0),
		Labels: map[string]string{"l": "1"}, Options: map[string]string{"type": "tmpfs"}, UID: -1, GID: 7,
		State: VolumeState{NeedsCopyUp: true},
	}
}

func TestVolumeRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTemp(t)
	for _, v := range []*Volume{vol("data"), vol("database"), vol("0123abcd")} {
		if err := d.AddVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.AddVolume(ctx, vol("data")); !errors.Is(err, define.ErrVolumeExists) {
		t.Errorf("duplicate name: %v", err)
	}
	for _, tc := range []struct {
		query, want string
		err         error
	}{
		{"data", "data", nil}, // exact beats the prefix of database
		{"datab", "database", nil},
		{"012", "0123abcd", nil},
		{"dat", "", define.ErrInvalidArg},
		{"da", "", define.ErrNoSuchVolume},
		{"nope", "", define.ErrNoSuchVolume},
	} {
		v, err := d.Volume(ctx, tc.query)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Volume(%q) error %v, want %v", tc.query, err, tc.err)
			}
			continue
		}
		if err != nil || v.Name != tc.want {
			t.Errorf("Volume(%q) = %v, %v; want %s", tc.query, v, err, tc.want)
		}
	}
	got, err := d.Volume(ctx, "data")
	if err != nil || !reflect.DeepEqual(got, vol("data")) {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	st := VolumeState{NeedsChown: true, MountCount: 2}
	if err := d.UpdateVolumeState(ctx, "data", st); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Volume(ctx, "data"); got.State != st {
		t.Errorf("state %+v, want %+v", got.State, st)
	}
	if err := d.ResetVolumeMounts(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Volume(ctx, "data"); got.State.MountCount != 0 {
		t.Errorf("mount count %d after reset", got.State.MountCount)
	}
	if err := d.UpdateVolumeState(ctx, "nope", st); !errors.Is(err, define.ErrNoSuchVolume) {
		t.Errorf("update of a missing volume: %v", err)
	}
	all, err := d.Volumes(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("Volumes: %d, %v", len(all), err)
	}
}

func TestVolumeUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTemp(t)
	for _, v := range []*Volume{vol("a"), vol("b")} {
		if err := d.AddVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	c1, c2 := ctr("c1", "one"), ctr("c2", "two")
	c1.Volumes, c2.Volumes = []string{"a", "b"}, []string{"a"}
	for _, c := range []*Container{c1, c2} {
		if err := d.AddContainer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	bad := ctr("c3", "three")
	bad.Volumes = []string{"gone"}
	if err := d.AddContainer(ctx, bad); !errors.Is(err, define.ErrNoSuchVolume) {
		t.Errorf("container with a missing volume: %v", err)
	}
	if _, err := d.Container(ctx, "three"); !errors.Is(err, define.ErrNoSuchContainer) {
		t.Errorf("a failed add left the container: %v", err)
	}
	if got, _ := d.Container(ctx, "one"); !reflect.DeepEqual(got.Volumes, []string{"a", "b"}) {
		t.Errorf("Container volumes %q", got.Volumes)
	}
	ctrs, _ := d.Containers(ctx)
	if len(ctrs) != 2 || !reflect.DeepEqual(ctrs[1].Volumes, []string{"a"}) {
		t.Errorf("Containers volumes: %+v", ctrs)
	}
	if users, _ := d.VolumeUsers(ctx, "a"); !reflect.DeepEqual(users, []string{"c1", "c2"}) {
		t.Errorf("users of a: %q", users)
	}
	if err := d.RemoveVolume(ctx, "b"); !errors.Is(err, define.ErrVolumeInUse) {
		t.Errorf("remove of a volume in use: %v", err)
	}
	if err := d.RemoveContainer(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveVolume(ctx, "b"); err != nil {
		t.Errorf("remove once unused: %v", err)
	}
	if err := d.RemoveVolume(ctx, "b"); !errors.Is(err, define.ErrNoSuchVolume) {
		t.Errorf("second remove: %v", err)
	}
	if users, _ := d.VolumeUsers(ctx, "a"); !reflect.DeepEqual(users, []string{"c2"}) {
		t.Errorf("users of a after c1 went: %q", users)
	}
}
