package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/engine-oss/engine/pkg/libengine"
)

func TestPrintEventLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	code := 0
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name     string
		ev       libengine.Event
		truncate bool
		want     string
	}{
		{"container", libengine.Event{Time: at, Type: "container", Status: "create", ID: id, Name: "web", Image: "nginx"}, false,
			"2024-01-01 10:00:00.000000000 +0000 UTC container create " + id + " (image=nginx, name=web)\n"},
		{"exit code and sorted attributes", libengine.Event{Time: at, Type: "container", Status: "died", ID: id, Name: "web", Image: "nginx",
			ContainerExitCode: &code, Attributes: map[string]string{"z": "1", "a": "2"}}, true,
			"2024-01-01 10:00:00.000000000 +0000 UTC container died 0123456789ab (image=nginx, name=web, containerExitCode=0, a=2, z=1)\n"},
		{"image", libengine.Event{Time: at, Type: "image", Status: "pull", ID: id, Name: "docker.io/library/nginx:latest"}, false,
			"2024-01-01 10:00:00.000000000 +0000 UTC image pull " + id + " docker.io/library/nginx:latest\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := printEventLine(&buf, tc.ev, tc.truncate); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestPrintEventJSON(t *testing.T) {
	t.Parallel()
	at := time.Unix(1704103200, 5)
	code := 137
	var buf bytes.Buffer
	ev := libengine.Event{Time: at, Type: "container", Status: "died", ID: "abc", Name: "web", Image: "nginx",
		ContainerExitCode: &code, Attributes: map[string]string{"app": "shop"}}
	if err := printEventJSON(&buf, ev); err != nil {
		t.Fatal(err)
	}
	want := `{"ContainerExitCode":137,"ID":"abc","Image":"nginx","Name":"web","Status":"died","time":1704103200,"timeNano":1704103200000000005,"Type":"container","Attributes":{"app":"shop"}}` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var back map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Error(err)
	}
}
