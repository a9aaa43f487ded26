package build

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// ProxyArgs are the build arguments usable without an ARG instruction, as
// Docker predefines them. They reach RUN's environment but, as in Docker,
// neither the image's history nor the cache key.
var ProxyArgs = []string{
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
}

// PlatformArgs are the automatic platform arguments (TARGETPLATFORM,
// BUILDARCH, ...) for the host, which an ARG instruction without a value
// brings into scope.
func PlatformArgs() map[string]string {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	variant := ""
	if runtime.GOARCH == "arm64" {
		variant = "v8"
	}
	m := map[string]string{}
	for _, prefix := range []string{"TARGET", "BUILD"} {
		m[prefix+"PLATFORM"] = platform
		m[prefix+"OS"] = runtime.GOOS
		m[prefix+"ARCH"] = runtime.GOARCH
		m[prefix+"VARIANT"] = variant
	}
	return m
}

// Expander expands $VAR and ${VAR...} in instruction arguments with the
// Dockerfile reference's rules (BuildKit's lexer).
type Expander struct {
	lex *shell.Lex
}

// NewExpander returns an expander for a file's escape character.
func NewExpander(escape rune) *Expander {
	return &Expander{lex: shell.NewLex(escape)}
}

// Func returns an instructions.SingleWordExpander over env ("KEY=VALUE";
// a later entry wins) for a command's Expand method.
func (x *Expander) Func(env []string) instructions.SingleWordExpander {
	getter := shell.EnvsFromSlice(env)
	return func(word string) (string, error) {
		res, _, err := x.lex.ProcessWord(word, getter)
		if err != nil {
			return "", fmt.Errorf("expand %q: %w: %w", word, err, define.ErrInvalidArg)
		}
		return res, nil
	}
}

// Words expands word and splits it at unquoted blanks, as EXPOSE reads
// its arguments.
func (x *Expander) Words(word string, env []string) ([]string, error) {
	words, err := x.lex.ProcessWords(word, shell.EnvsFromSlice(env))
	if err != nil {
		return nil, fmt.Errorf("expand %q: %w: %w", word, err, define.ErrInvalidArg)
	}
	return words, nil
}

// Args tracks the build arguments of one stage: those it declared with
// ARG and their values, in declaration order.
type Args struct {
	names  []string
	values map[string]string
}

// Declare brings name into scope with value (nil: declared without one).
func (a *Args) Declare(name string, value *string) {
	if a.values == nil {
		a.values = map[string]string{}
	}
	if !slices.Contains(a.names, name) {
		a.names = append(a.names, name)
	}
	if value == nil {
		delete(a.values, name)
		return
	}
	a.values[name] = *value
}

// Env lists the declared arguments that have a value as KEY=VALUE, in
// declaration order.
func (a *Args) Env() []string {
	var out []string
	for _, n := range a.names {
		if v, ok := a.values[n]; ok {
			out = append(out, n+"="+v)
		}
	}
	return out
}

// Clone copies a for a new stage or step.
func (a *Args) Clone() *Args {
	c := &Args{names: slices.Clone(a.names), values: map[string]string{}}
	for k, v := range a.values {
		c.values[k] = v
	}
	return c
}

// Lookup returns a declared argument's value.
func (a *Args) Lookup(name string) (string, bool) {
	v, ok := a.values[name]
	return v, ok
}

// EnvKeys lists the names in KEY=VALUE entries.
func EnvKeys(env []string) []string {
	keys := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return keys
}

// Command is the argv of a RUN, CMD or ENTRYPOINT: the exec form as
// written, or the shell form run by shell. A RUN's heredocs are passed to
// the shell: one that is the whole command is run as the script, as
// BuildKit does; others are appended for the shell to read.
func Command(cl instructions.ShellDependantCmdLine, shell []string) []string {
	if !cl.PrependShell || cl.CmdLine == nil {
		return slices.Clone(cl.CmdLine)
	}
	script := strings.Join(cl.CmdLine, " ")
	if len(cl.Files) > 0 {
		if len(cl.Files) == 1 && parser.MustParseHeredoc(script) != nil {
			script = cl.Files[0].Data
			if cl.Files[0].Chomp {
				script = parser.ChompHeredocContent(script)
			}
		} else {
			for _, f := range cl.Files {
				script += "\n" + f.Data + f.Name
			}
		}
	}
	return append(slices.Clone(shell), script)
}
