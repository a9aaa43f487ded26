package format

import (
	"bytes"
	"testing"
)

type row struct {
	ID        string
	CreatedAt string
	Size      int
}

func TestPrint(t *testing.T) {
	t.Parallel()
	rows := []row{{ID: "abc", CreatedAt: "now", Size: 3}, {ID: "def", CreatedAt: "then", Size: 12}}
	tests := []struct {
		name, format, want string
	}{
		{"default table", "", "ID   CREATED AT  SIZE\nabc  now         3\ndef  then        12\n"},
		{"template", "{{.ID}}", "abc\ndef\n"},
		{"escaped tab", `{{.ID}}\t{{.Size}}`, "abc\t3\ndef\t12\n"},
		{"table with header override", `table {{.ID}}\t{{.Size}}`, "IMAGE ID  SIZE\nabc       3\ndef       12\n"},
		{"json", "json", "[\n    {\n        \"ID\": \"abc\",\n        \"CreatedAt\": \"now\",\n        \"Size\": 3\n    },\n    {\n        \"ID\": \"def\",\n        \"CreatedAt\": \"then\",\n        \"Size\": 12\n    }\n]\n"},
		{"upper func", "{{upper .ID}}", "ABC\nDEF\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			headers := map[string]string{}
			if tc.name == "table with header override" {
				headers["ID"] = "IMAGE ID"
			}
			if err := Print(&buf, tc.format, "table {{.ID}}\t{{.CreatedAt}}\t{{.Size}}", rows, headers); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPrintBadTemplate(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Print(&buf, "{{.ID", "", []row{{}}, nil); err == nil {
		t.Fatal("want error for unterminated template")
	}
}

func TestSplitCamel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"ID": "ID", "CreatedAt": "CREATED AT", "Repository": "REPOSITORY", "ReadOnly": "READ ONLY"} {
		if got := splitCamel(in); got != want {
			t.Errorf("splitCamel(%q) = %q, want %q", in, got, want)
		}
	}
}
