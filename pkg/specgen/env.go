package specgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
)

const envHint = "use KEY=VALUE, KEY (takes the host's value) or PREFIX* (takes every host variable starting with PREFIX)"

// ParseEnv parses --env values. As podman: "KEY=VALUE" sets KEY; "KEY"
// alone takes the value from hostEnv (os.Environ() form) and is skipped when
// the host has none; "PREFIX*" takes every host variable whose name starts
// with PREFIX. Later values win; merge the result over ParseEnvFile's so
// --env overrides --env-file. Errors wrap define.ErrInvalidArg.
func ParseEnv(values, hostEnv []string) (map[string]string, error) {
	env := map[string]string{}
	for _, v := range values {
		if problem := parseEnvLine(env, v, hostEnv); problem != "" {
			return nil, invalid("--env %q: %s", v, problem)
		}
	}
	return env, nil
}

// parseEnvLine applies one KEY=VALUE, KEY or PREFIX* line to env and returns
// what is wrong with the line, or "".
func parseEnvLine(env map[string]string, line string, hostEnv []string) (problem string) {
	name, val, hasVal := strings.Cut(line, "=")
	name = strings.TrimLeft(name, " \t")
	if name == "" {
		return "the variable name is empty: " + envHint
	}
	if strings.ContainsAny(name, " \t") {
		return fmt.Sprintf("the variable name %q contains a space: %s", name, envHint)
	}
	if hasVal {
		env[name] = val
		return ""
	}
	prefix, glob := strings.CutSuffix(name, "*")
	for _, kv := range hostEnv {
		k, v, ok := strings.Cut(kv, "=")
		if ok && (k == name || (glob && strings.HasPrefix(k, prefix))) {
			env[k] = v
		}
	}
	return ""
}

// ParseEnvFile reads an --env-file. Each line is KEY=VALUE, KEY or PREFIX* as for ParseEnv (hostEnv gives
// the host's values); blank lines and lines starting with # are skipped.
// Values are taken literally: quotes are not removed, as podman. A missing
// or unreadable file, or a bad line, returns an error naming the file (and
// line) that wraps define.ErrInvalidArg.
func ParseEnvFile(file string, hostEnv []string) (map[string]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--env-file %s: %w: %w", file, define.ErrInvalidArg, err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if problem := parseEnvLine(env, line, hostEnv); problem != "" {
			return nil, invalid("--env-file %s line %d: %s", file, n, problem)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w: %w", file, define.ErrInvalidArg, err)
	}
	return env, nil
}
