package state

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTemp(t)
	if err := d.AddContainer(ctx, ctr("h1", "web")); err != nil {
		t.Fatal(err)
	}
	if h, err := d.Health(ctx, "h1"); err != nil || h != nil {
		t.Fatalf("Health before any check = %v, %v; want nil, nil", h, err)
	}
	start := time.Unix(1000, 0).UTC()
	want := &Health{Status: "unhealthy", FailingStreak: 2, Log: []HealthLog{
		{Start: start, End: start.Add(time.Second), ExitCode: 1, Output: "boom"},
	}}
	for _, h := range []*Health{{Status: "starting"}, want} { // the second replaces the first
		if err := d.SetHealth(ctx, "h1", h); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Health(ctx, "h1")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Health = %+v, %v; want %+v", got, err, want)
	}
	all, err := d.Healths(ctx)
	if err != nil || len(all) != 1 || !reflect.DeepEqual(all["h1"], want) {
		t.Fatalf("Healths = %v, %v", all, err)
	}
	if err := d.SetHealth(ctx, "nope", want); !errors.Is(err, define.ErrNoSuchContainer) {
		t.Errorf("SetHealth of an unknown container: %v, want ErrNoSuchContainer", err)
	}
	if err := d.RemoveContainer(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if all, err := d.Healths(ctx); err != nil || len(all) != 0 {
		t.Errorf("health outlived its container: %v, %v", all, err)
	}
}
