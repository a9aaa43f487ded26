package main

import (
	"bytes"
	"errors"
	"testing"

	"github.com/engine-oss/engine/pkg/libengine"
)

func TestPrintInspected(t *testing.T) {
	t.Parallel()
	doc := libengine.ImageInspect{ID: "abc", RepoTags: []string{"a:1", "b:2"}, Size: 1985961, Os: "linux"}
	lookupErr := errors.New("nosuch: image not known")
	tests := []struct {
		name, format string
		objs         []any
		err          error
		want         string
		wantErr      bool
	}{
		{name: "json", format: "json", objs: []any{doc}, want: "[\n    {\n        \"Id\": \"abc\","},
		{name: "nothing found prints an empty array", format: "json", err: lookupErr, want: "[]\n", wantErr: true},
		{name: "typed fields", format: `{{join .RepoTags ","}} {{.Os}}`, objs: []any{doc}, want: "a:1,b:2 linux\n"},
		{name: "JSON names", format: "{{.Id}} {{.Size}}", objs: []any{doc, doc}, want: "abc 1985961\nabc 1985961\n"},
		{name: "found ones printed before the error", format: "{{.Id}}", objs: []any{doc}, err: lookupErr, want: "abc\n", wantErr: true},
		// As docker's: a key the JSON lacks prints <no value>.
		{name: "unknown field", format: "{{.Nope}}", objs: []any{doc}, want: "<no value>\n"},
		{name: "bad template", format: "{{.Id", objs: []any{doc}, wantErr: true},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		err := printInspected(&buf, tc.format, tc.objs, tc.err)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if got := buf.String(); len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
			t.Errorf("%s: printed %q, want it to start with %q", tc.name, got, tc.want)
		}
	}
}
