// Package format prints command output the way podman's --format does: a
// default table, "json", "table TEMPLATE" with derived headers, or a bare Go
// template applied to each row.
package format

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"
)

// JSON is the --format value that prints the rows as one JSON array.
const JSON = "json"

// Funcs are the template functions podman users rely on.
var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		r := []rune(s)
		r[0] = unicode.ToUpper(r[0])
		return string(r)
	},
	"join": strings.Join,
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

var fieldRe = regexp.MustCompile(`\{\{\s*\.(\w+)[^}]*\}\}`)

// Print writes rows (a slice) to w in the requested format. defaultTable is
// used when format is empty; headers overrides derived column titles.
func Print(w io.Writer, format, defaultTable string, rows any, headers map[string]string) error {
	if format == "" {
		format = defaultTable
	}
	if format == JSON {
		return printJSON(w, rows)
	}
	table := false
	if rest, ok := strings.CutPrefix(format, "table"); ok {
		table = true
		format = strings.TrimSpace(rest)
		if format == "" {
			format = strings.TrimSpace(strings.TrimPrefix(defaultTable, "table"))
		}
	}
	format = unescape(format)
	tmpl, err := template.New("format").Funcs(funcs).Parse(format + "\n")
	if err != nil {
		return fmt.Errorf("--format %q: %w", format, err)
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		out = tw
		if _, err := fmt.Fprintln(tw, header(format, headers)); err != nil {
			return err
		}
	}
	v := reflect.ValueOf(rows)
	if v.Kind() != reflect.Slice {
		return fmt.Errorf("format: rows must be a slice, got %T", rows)
	}
	for i := 0; i < v.Len(); i++ {
		if err := tmpl.Execute(out, v.Index(i).Interface()); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// PrintJSON writes v indented, as podman's inspect does.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// PrintJSON writes any value as indented JSON.
func PrintJSON(w io.Writer, v any) error { return printJSON(w, v) }

// Template applies a Go template to each value (used by inspect --format).
func Template(w io.Writer, format string, values []any) error {
	tmpl, err := template.New("format").Funcs(funcs).Parse(unescape(format) + "\n")
	if err != nil {
		return fmt.Errorf("--format %q: %w", format, err)
	}
	for _, v := range values {
		if err := tmpl.Execute(w, v); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	return nil
}

// unescape turns the two-character sequences users type in shells into tabs
// and newlines, as docker and podman do.
func unescape(s string) string {
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(s)
}

func header(format string, headers map[string]string) string {
	return fieldRe.ReplaceAllStringFunc(format, func(m string) string {
		name := fieldRe.FindStringSubmatch(m)[1]
		if h, ok := headers[name]; ok {
			return h
		}
		return splitCamel(name)
	})
}

// splitCamel turns "CreatedAt" into "CREATED AT" and "ID" into "ID".
func splitCamel(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteRune(' ')
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}
