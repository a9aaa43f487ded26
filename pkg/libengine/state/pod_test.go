package state

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestPods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTemp(t)
	p := &Pod{ID: "aaa111", Name: "web", Created: time.Unix(10, 0), Labels: map[string]string{"k": "v"}, Config: []byte(`{}`)}
	if err := d.AddPod(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := d.AddPod(ctx, &Pod{ID: "bbb222", Name: "web", Created: time.Unix(11, 0), Config: []byte(`{}`)}); !errors.Is(err, define.ErrPodExists) {
		t.Fatalf("second pod named web: %v, want ErrPodExists", err)
	}
	if err := d.SetPodInfra(ctx, p.ID, "infra1"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"aaa111", "web", "aaa"} {
		got, err := d.Pod(ctx, q)
		if err != nil || got.ID != p.ID || got.InfraID != "infra1" || got.Labels["k"] != "v" || !got.Created.Equal(p.Created) {
			t.Errorf("Pod(%q) = %+v, %v", q, got, err)
		}
	}
	if _, err := d.Pod(ctx, "nope"); !errors.Is(err, define.ErrNoSuchPod) {
		t.Errorf("Pod(nope) = %v, want ErrNoSuchPod", err)
	}

	infra, member := ctr("c1", "infra"), ctr("c2", "member")
	infra.Pod, member.Pod = p.ID, p.ID
	member.Created = time.Unix(200, 0)
	for _, c := range []*Container{infra, member, ctr("c3", "alone")} {
		if err := d.AddContainer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	orphan := ctr("c4", "orphan")
	orphan.Pod = "gone"
	if err := d.AddContainer(ctx, orphan); !errors.Is(err, define.ErrNoSuchPod) {
		t.Fatalf("container of a missing pod: %v, want ErrNoSuchPod", err)
	}
	ids, err := d.PodContainers(ctx, p.ID)
	if err != nil || !slices.Equal(ids, []string{"c1", "c2"}) {
		t.Fatalf("PodContainers = %v, %v", ids, err)
	}
	if c, err := d.Container(ctx, "member"); err != nil || c.Pod != p.ID {
		t.Fatalf("member's Pod = %+v, %v", c, err)
	}
	all, err := d.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if (c.Pod == p.ID) != (c.ID != "c3") {
			t.Errorf("Containers: %s has Pod %q", c.ID, c.Pod)
		}
	}
	if err := d.RemovePod(ctx, p.ID); !errors.Is(err, define.ErrCtrStateInvalid) {
		t.Fatalf("RemovePod with containers: %v, want ErrCtrStateInvalid", err)
	}
	for _, id := range ids {
		if err := d.RemoveContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.RemovePod(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.RemovePod(ctx, p.ID); !errors.Is(err, define.ErrNoSuchPod) {
		t.Fatalf("RemovePod twice: %v, want ErrNoSuchPod", err)
	}
	if pods, err := d.Pods(ctx); err != nil || len(pods) != 0 {
		t.Fatalf("Pods after removal = %v, %v", pods, err)
	}
}
