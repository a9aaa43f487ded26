package systemd

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string // Bytes() of the result
		wantErr string
	}{
		{
			name: "comments, blanks and spaces around =",
			in:   "# c\n; c\n\n[Unit]\n  Description = a web server  \n[Service]\nType=notify\n",
			want: "[Unit]\nDescription=a web server\n\n[Service]\nType=notify\n",
		},
		{
			name: "continuation lines skip comments",
			in:   "[Service]\nExecStart=/bin/echo a \\\n# not part of it\n  b \\\n  c\nType=oneshot\n",
			want: "[Service]\nExecStart=/bin/echo a  b  c\nType=oneshot\n",
		},
		{
			name: "a repeated section is one section",
			in:   "[A]\nK=1\n[B]\nK=2\n[A]\nK=3\n",
			want: "[A]\nK=1\nK=3\n\n[B]\nK=2\n",
		},
		{
			name: "value keeps = and quotes",
			in:   "[Container]\nEnvironment=\"A=b c\" D=e=f\r\n",
			want: "[Container]\nEnvironment=\"A=b c\" D=e=f\n",
		},
		{name: "key before any section", in: "K=v\n", wantErr: "f.container:1: assignment before the first [Section] header"},
		{name: "not an assignment", in: "[A]\n\njust words\n", wantErr: `f.container:3: line "just words" is not KEY=VALUE`},
		{name: "bad header", in: "[A]\n[B\n", wantErr: `f.container:2: bad section header "[B": write [Name]`},
		{name: "key with a space", in: "[A]\nK K=v\n", wantErr: `f.container:2: line "K K=v" is not KEY=VALUE`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse("f.container", []byte(tc.in))
			if tc.wantErr != "" {
				var fe *FileError
				if !errors.As(err, &fe) || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(f.Bytes()); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestParseLineNumbers(t *testing.T) {
	t.Parallel()
	f, err := Parse("f", []byte("[A]\n# x\nK=a \\\n b\nL=c\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, e := range f.Section("A").Entries {
		got = append(got, e.Line)
	}
	if !slices.Equal(got, []int{3, 5}) {
		t.Errorf("lines = %v, want [3 5]", got)
	}
	if err := f.Section("A").Entries[1].Errorf("bad %s", "thing"); err.Error() != "f:5: bad thing" {
		t.Errorf("Errorf = %q", err)
	}
}

func TestSectionLookups(t *testing.T) {
	t.Parallel()
	base, err := Parse("base", []byte("[C]\nVolume=/a:/a\nVolume=/b:/b\nImage=one\n"))
	if err != nil {
		t.Fatal(err)
	}
	dropin, err := Parse("10.conf", []byte("[C]\nVolume=\nVolume=/c:/c\nImage=two\n[Install]\nWantedBy=x.target\n"))
	if err != nil {
		t.Fatal(err)
	}
	base.Merge(dropin)
	s := base.Section("C")
	if v := s.Value("Image"); v != "two" {
		t.Errorf("Image = %q, want the drop-in's", v)
	}
	var vols []string
	for _, e := range s.All("Volume") {
		vols = append(vols, e.Value+"@"+e.Path)
	}
	if !slices.Equal(vols, []string{"/c:/c@10.conf"}) {
		t.Errorf("Volume = %v: the empty assignment must reset the list", vols)
	}
	if base.Section("Install").Value("WantedBy") != "x.target" {
		t.Error("the drop-in's new section is missing")
	}
	var none *Section
	if _, ok := none.Lookup("K"); ok || none.Has("K") || none.All("K") != nil {
		t.Error("a nil section must have no keys")
	}

	s.Default("Image", "three")
	s.Default("Pull", "never")
	s.Set("Volume", "/d:/d")
	want := "[C]\nImage=one\nImage=two\nPull=never\nVolume=/d:/d\n\n[Install]\nWantedBy=x.target\n"
	if got := string(base.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSplitWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "  a  b\tc ", want: []string{"a", "b", "c"}},
		{in: `"a b" 'c "d"' e"f g"h`, want: []string{"a b", `c "d"`, "ef gh"}},
		{in: `a\ b \"c\" \n \\`, want: []string{"a b", `"c"`, "\n", `\`}},
		{in: `A=1 "B=two words" C=`, want: []string{"A=1", "B=two words", "C="}},
		{in: `""`, want: []string{""}},
		{in: `"open`, wantErr: true},
		{in: `trailing\`, wantErr: true},
	}
	for _, tc := range tests {
		got, err := SplitWords(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCommandLineRoundTrip(t *testing.T) {
	t.Parallel()
	args := []string{"/usr/bin/engine", "run", "--env=A=b c", "", `quote"d`, `back\slash`, "tab\there", "new\nline", ";", "%t/%N.cid", "$HOME", "it's"}
	line := CommandLine(args)
	got, err := SplitWords(line)
	if err != nil || !slices.Equal(got, args) {
		t.Fatalf("SplitWords(CommandLine(args)) = %q, %v\nline: %s", got, err, line)
	}
	if strings.Contains(line, "\n") {
		t.Errorf("command line spans lines: %q", line)
	}
}
