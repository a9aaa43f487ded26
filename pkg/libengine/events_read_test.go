package libengine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/engine-oss/engine/pkg/libengine/state"
)

func TestEventFilters(t *testing.T) {
	t.Parallel()
	code := 137
	ctrEv := Event{Type: "container", Status: "died", ID: "0123456789abcdef", Name: "web", Image: "docker.io/library/nginx:latest",
		ContainerExitCode: &code, Attributes: map[string]string{"app": "shop", "tier": "front"}}
	imgEv := Event{Type: "image", Status: "pull", ID: "fedcba9876543210", Name: "docker.io/library/nginx:latest"}
	tests := []struct {
		filters        []string
		wantCtr, wantI bool
	}{
		{nil, true, true},
		{[]string{"type=container"}, true, false},
		{[]string{"type=container", "type=image"}, true, true},
		{[]string{"event=died"}, true, false},
		{[]string{"event=die"}, true, false},
		{[]string{"status=pull"}, false, true},
		{[]string{"container=web"}, true, false},
		{[]string{"container=0123"}, true, false},
		{[]string{"container=01"}, false, false}, // prefixes need 3 characters
		{[]string{"image=nginx"}, true, true},
		{[]string{"image=fedcba"}, false, true},
		{[]string{"label=app"}, true, false},
		{[]string{"label=app=shop", "label=app=other"}, true, false},
		{[]string{"label=app=other"}, false, false},
		{[]string{"type=container", "event=start"}, false, false},
		{[]string{"volume=web"}, false, false},
	}
	for _, tc := range tests {
		match, err := parseEventFilters(tc.filters)
		if err != nil {
			t.Fatalf("%q: %v", tc.filters, err)
		}
		if got := match(&ctrEv); got != tc.wantCtr {
			t.Errorf("%q on the container event = %v", tc.filters, got)
		}
		if got := match(&imgEv); got != tc.wantI {
			t.Errorf("%q on the image event = %v", tc.filters, got)
		}
	}
	for _, bad := range []string{"type", "type=", "bogus=1"} {
		if _, err := parseEventFilters([]string{bad}); !errors.Is(err, define.ErrInvalidArg) {
			t.Errorf("filter %q: %v, want ErrInvalidArg", bad, err)
		}
	}
}

func TestEventFromRecord(t *testing.T) {
	t.Parallel()
	ev := eventFromRecord(state.Event{Type: "container", Action: "died", ID: "abc", Name: "web",
		Attributes: map[string]string{eventAttrImage: "img", eventAttrExitCode: "3", "app": "shop"}})
	if ev.Image != "img" || ev.ContainerExitCode == nil || *ev.ContainerExitCode != 3 || len(ev.Attributes) != 1 || ev.Attributes["app"] != "shop" {
		t.Errorf("eventFromRecord = %+v", ev)
	}
	if ev := eventFromRecord(state.Event{Type: "image", Action: "pull"}); ev.Attributes != nil || ev.ContainerExitCode != nil {
		t.Errorf("image event = %+v", ev)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	ctx := context.Background()
	rec := &state.Container{ID: "c1", Name: "web", ImageName: "img", Labels: map[string]string{"app": "shop"}}
	e.ctrEvent(ctx, rec, "create", nil)
	e.imageEvents(ctx, "tag", "i1", []string{"a:1", "b:1"})
	e.ctrEvent(ctx, rec, "died", map[string]string{eventAttrExitCode: "0"})

	collect := func(opts EventsOptions) []string {
		var got []string
		if err := e.Events(ctx, opts, func(ev Event) error {
			got = append(got, ev.Type+" "+ev.Status+" "+ev.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := collect(EventsOptions{}); len(got) != 4 || got[0] != "container create web" || got[2] != "image tag b:1" {
		t.Errorf("all events: %q", got)
	}
	if got := collect(EventsOptions{Filters: []string{"label=app=shop"}}); len(got) != 2 {
		t.Errorf("label filter: %q", got)
	}
	if got := collect(EventsOptions{Until: time.Now().Add(-time.Hour)}); len(got) != 0 {
		t.Errorf("until an hour ago: %q", got)
	}

	// A stream without Since reports only what comes after it started,
	// and ends with its context.
	sctx, cancel := context.WithCancel(ctx)
	got := make(chan Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- e.Events(sctx, EventsOptions{Stream: true}, func(ev Event) error {
			got <- ev
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond)
	e.ctrEvent(ctx, rec, "start", nil)
	select {
	case ev := <-got:
		if ev.Status != "start" || ev.Image != "img" || ev.Attributes["app"] != "shop" {
			t.Errorf("streamed %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream reported nothing within 5s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stream ended with %v", err)
	}
}
