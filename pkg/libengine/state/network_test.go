package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

func TestNetworkRelation(t *testing.T) {
	d, _ := openTemp(t)
	ctx := context.Background()
	n := &Network{Name: "app", ID: "0123456789abcdef", Created: time.Unix(5, 0), Config: []byte(`{"name":"app"}`)}
	if err := d.AddNetwork(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := d.AddNetwork(ctx, n); !errors.Is(err, define.ErrNetworkExists) {
		t.Errorf("second add: %v", err)
	}
	if got, err := d.Network(ctx, "0123"); err != nil || got.Name != "app" || string(got.Config) != `{"name":"app"}` {
		t.Errorf("lookup by ID prefix: %+v %v", got, err)
	}
	if _, err := d.Network(ctx, "nope"); !errors.Is(err, define.ErrNoSuchNetwork) {
		t.Errorf("missing network: %v", err)
	}
	c := ctr("c1", "web")
	c.Networks = []NetworkAttachment{{Network: "app", Options: []byte(`{"interface":"eth0"}`)}}
	if err := d.AddContainer(ctx, c); err != nil {
		t.Fatal(err)
	}
	bad := ctr("c2", "bad")
	bad.Networks = []NetworkAttachment{{Network: "nope", Options: []byte(`{}`)}}
	if err := d.AddContainer(ctx, bad); !errors.Is(err, define.ErrNoSuchNetwork) {
		t.Errorf("container on a missing network: %v", err)
	}
	if err := d.ConnectNetwork(ctx, "c1", NetworkAttachment{Network: "app", Options: []byte(`{}`)}); !errors.Is(err, define.ErrNetworkConnected) {
		t.Errorf("connecting twice: %v", err)
	}
	if err := d.RemoveNetwork(ctx, "app"); !errors.Is(err, define.ErrNetworkInUse) {
		t.Errorf("removing a network in use: %v", err)
	}
	if users, err := d.NetworkUsers(ctx, "app"); err != nil || len(users) != 1 || users[0] != "c1" {
		t.Errorf("users %v %v", users, err)
	}
	got, err := d.Container(ctx, "web")
	if err != nil || len(got.Networks) != 1 || got.Networks[0].Network != "app" {
		t.Fatalf("container networks %+v %v", got, err)
	}
	if err := d.DisconnectNetwork(ctx, "c1", "app"); err != nil {
		t.Fatal(err)
	}
	if err := d.DisconnectNetwork(ctx, "c1", "app"); !errors.Is(err, define.ErrNotConnected) {
		t.Errorf("disconnecting twice: %v", err)
	}
	if err := d.ConnectNetwork(ctx, "c1", NetworkAttachment{Network: "app", Options: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// Removing the container drops its memberships.
	if err := d.RemoveContainer(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveNetwork(ctx, "app"); err != nil {
		t.Errorf("removing an unused network: %v", err)
	}
	if err := d.RemoveNetwork(ctx, "app"); !errors.Is(err, define.ErrNoSuchNetwork) {
		t.Errorf("removing twice: %v", err)
	}
}
