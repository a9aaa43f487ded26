// Package systemd reads and writes systemd unit files (systemd.syntax(7))
// and splits and quotes their command lines. It imports only the standard
// library: the quadlet generator built on it runs at every boot.
package systemd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// FileError is an error about a file, and about one of its lines when Line
// is not 0. It prints as "PATH:LINE: message", as compilers do.
type FileError struct {
	Path string
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Entry is one KEY=VALUE assignment and where it was read. Entries the
// caller adds have no Path.
type Entry struct {
	Key   string
	Value string
	Path  string
	Line  int
}

// Errorf returns a FileError pointing at the entry's line.
func (e Entry) Errorf(format string, args ...any) error {
	return &FileError{Path: e.Path, Line: e.Line, Err: fmt.Errorf(format, args...)}
}

// Section is one [Name] section; a name given twice in a file, or again in a
// drop-in, is one Section with the entries in the order read.
type Section struct {
	Name    string
	Entries []Entry
}

// File is a parsed unit file. Sections keep the order they first appeared in.
type File struct {
	Path     string
	Sections []*Section
}

// ReadFile reads and parses the unit file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return Parse(path, data)
}

// Parse parses data as systemd does: '#' and ';' start comment lines, a
// trailing backslash continues a line (comment lines inside a continuation
// are skipped), whitespace around keys and values is dropped. An assignment
// outside a section or a line that is neither a section header nor an
// assignment is a *FileError naming its line.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path}
	var cur *Section
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		for strings.HasSuffix(line, "\\") {
			line = line[:len(line)-1] + " "
			next, more := nextContinuation(lines, &i)
			if !more {
				break
			}
			line += next
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if line[0] == '[' {
			name, ok := strings.CutSuffix(line[1:], "]")
			if !ok || name == "" || strings.ContainsAny(name, "[]") {
				return nil, &FileError{Path: path, Line: lineNo, Err: fmt.Errorf("bad section header %q: write [Name]", line)}
			}
			cur = f.Ensure(name)
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, &FileError{Path: path, Line: lineNo, Err: fmt.Errorf("line %q is not KEY=VALUE", line)}
		}
		if cur == nil {
			return nil, &FileError{Path: path, Line: lineNo, Err: errors.New("assignment before the first [Section] header")}
		}
		cur.Entries = append(cur.Entries, Entry{Key: key, Value: strings.TrimSpace(value), Path: path, Line: lineNo})
	}
	return f, nil
}

// nextContinuation returns the line after *i that continues a line, skipping
// comment lines, and advances *i to it; more is false at the end of data.
func nextContinuation(lines []string, i *int) (next string, more bool) {
	for *i+1 < len(lines) {
		*i++
		next = strings.TrimSpace(strings.TrimSuffix(lines[*i], "\r"))
		if next == "" || (next[0] != '#' && next[0] != ';') {
			return next, true
		}
	}
	return "", false
}

// Section returns the section called name, or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Ensure returns the section called name, appending an empty one if needed.
func (f *File) Ensure(name string) *Section {
	if s := f.Section(name); s != nil {
		return s
	}
	s := &Section{Name: name}
	f.Sections = append(f.Sections, s)
	return s
}

// Merge appends the entries of a drop-in to f, section by section, as
// systemd applies drop-ins: later single-valued keys win, list keys grow,
// and an empty assignment resets a list (see Section.All).
func (f *File) Merge(dropin *File) {
	for _, s := range dropin.Sections {
		dst := f.Ensure(s.Name)
		dst.Entries = append(dst.Entries, s.Entries...)
	}
}

// Bytes serializes f: sections in order, separated by blank lines, each
// entry as KEY=VALUE. Empty sections are left out.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for _, s := range f.Sections {
		if len(s.Entries) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%s=%s\n", e.Key, e.Value)
		}
	}
	return b.Bytes()
}

// Lookup returns the last assignment of key, which is the one systemd uses
// for single-valued keys. A nil Section has no keys.
func (s *Section) Lookup(key string) (Entry, bool) {
	if s == nil {
		return Entry{}, false
	}
	for i := len(s.Entries) - 1; i >= 0; i-- {
		if s.Entries[i].Key == key {
			return s.Entries[i], true
		}
	}
	return Entry{}, false
}

// Value returns the value of the last assignment of key, or "".
func (s *Section) Value(key string) string {
	e, _ := s.Lookup(key)
	return e.Value
}

// Has reports whether key is assigned a non-empty value.
func (s *Section) Has(key string) bool {
	return s.Value(key) != ""
}

// All returns the assignments of any of keys in order, for list keys: an
// empty assignment drops those before it, as systemd does, and is itself
// left out.
func (s *Section) All(keys ...string) []Entry {
	if s == nil {
		return nil
	}
	var out []Entry
	for _, e := range s.Entries {
		for _, k := range keys {
			if e.Key != k {
				continue
			}
			if e.Value == "" {
				out = out[:0]
			} else {
				out = append(out, e)
			}
		}
	}
	return out
}

// Add appends KEY=VALUE.
func (s *Section) Add(key, value string) {
	s.Entries = append(s.Entries, Entry{Key: key, Value: value})
}

// Set replaces every assignment of key with KEY=VALUE.
func (s *Section) Set(key, value string) {
	s.Remove(key)
	s.Add(key, value)
}

// Default adds KEY=VALUE unless key is already assigned.
func (s *Section) Default(key, value string) {
	if _, ok := s.Lookup(key); !ok {
		s.Add(key, value)
	}
}

// Remove drops every assignment of key.
func (s *Section) Remove(key string) {
	kept := s.Entries[:0]
	for _, e := range s.Entries {
		if e.Key != key {
			kept = append(kept, e)
		}
	}
	s.Entries = kept
}
