package libengine

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/engine-oss/engine/pkg/libengine/define"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// ApplyChanges applies Dockerfile-style instructions, as `import`, `commit`
// and `build` take them with --change, to cfg in order. Each change is
// "INSTRUCTION ARGS" or "INSTRUCTION=ARGS". Supported instructions: CMD and
// ENTRYPOINT (JSON array or shell form, run by /bin/sh -c), ENV and LABEL
// (KEY=VALUE pairs with shell quoting, or the legacy "KEY VALUE"), EXPOSE
// (PORT[-END][/tcp|udp|sctp]), VOLUME (JSON array or paths), WORKDIR
// (relative to the previous one), USER and STOPSIGNAL (a name or number).
// Variables are not expanded. Errors wrap define.ErrInvalidArg and quote
// the offending change.
func ApplyChanges(cfg *imgspecv1.ImageConfig, changes []string) error {
	for _, change := range changes {
		if err := applyChange(cfg, change); err != nil {
			return fmt.Errorf("--change %q: %w: %w", change, err, define.ErrInvalidArg)
		}
	}
	return nil
}

func applyChange(cfg *imgspecv1.ImageConfig, change string) error {
	change = strings.TrimSpace(change)
	i := strings.IndexFunc(change, func(r rune) bool { return !unicode.IsLetter(r) })
	if i <= 0 || (change[i] != '=' && !unicode.IsSpace(rune(change[i]))) {
		return fmt.Errorf("want INSTRUCTION ARGUMENTS, e.g. CMD /bin/sh")
	}
	instr, args := strings.ToUpper(change[:i]), strings.TrimSpace(change[i+1:])
	if args == "" {
		return fmt.Errorf("%s needs an argument", instr)
	}
	switch instr {
	case "CMD":
		cfg.Cmd = parseCommand(args)
	case "ENTRYPOINT":
		cfg.Entrypoint = parseCommand(args)
	case "ENV":
		pairs, err := parseKeyValues(args)
		if err != nil {
			return err
		}
		for _, kv := range pairs {
			cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
		}
	case "LABEL":
		pairs, err := parseKeyValues(args)
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range pairs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "EXPOSE":
		words, err := shellWords(args)
		if err != nil {
			return err
		}
		for _, w := range words {
			ports, err := parsePorts(w)
			if err != nil {
				return err
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range ports {
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	case "VOLUME":
		vols, err := parseList(args)
		if err != nil {
			return err
		}
		for _, v := range vols {
			if v == "" {
				return fmt.Errorf("VOLUME path is empty")
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[v] = struct{}{}
		}
	case "WORKDIR":
		dir, err := singleWord(instr, args)
		if err != nil {
			return err
		}
		if !path.IsAbs(dir) {
			dir = path.Join("/", cfg.WorkingDir, dir)
		}
		cfg.WorkingDir = path.Clean(dir)
	case "USER":
		user, err := singleWord(instr, args)
		if err != nil {
			return err
		}
		cfg.User = user
	case "STOPSIGNAL":
		word, err := singleWord(instr, args)
		if err != nil {
			return err
		}
		sig, err := parseSignal(word)
		if err != nil {
			return err
		}
		cfg.StopSignal = sig
	case "ONBUILD":
		return fmt.Errorf("ONBUILD is not supported: OCI image configurations have no ONBUILD triggers")
	default:
		return fmt.Errorf("unknown instruction %s: use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR", instr)
	}
	return nil
}

// parseCommand reads the exec form (a JSON array of strings) or, for
// anything else, the shell form run by /bin/sh -c, as Dockerfiles do.
func parseCommand(args string) []string {
	var argv []string
	if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &argv) == nil {
		if argv == nil {
			argv = []string{}
		}
		return argv
	}
	return []string{"/bin/sh", "-c", args}
}

// parseList reads a JSON array of strings or shell-quoted words.
func parseList(args string) ([]string, error) {
	var list []string
	if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &list) == nil {
		return list, nil
	}
	return shellWords(args)
}

// parseKeyValues reads KEY=VALUE pairs, or the legacy "KEY VALUE" form where
// the value is the rest of the line.
func parseKeyValues(args string) ([][2]string, error) {
	words, err := shellWords(args)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(words[0], "=") {
		key, rest := args, ""
		if i := strings.IndexFunc(args, unicode.IsSpace); i > 0 {
			key, rest = args[:i], strings.TrimSpace(args[i:])
		}
		if rest == "" {
			return nil, fmt.Errorf("%q has no value: use KEY=VALUE", key)
		}
		value, err := shellWords(rest)
		if err != nil {
			return nil, err
		}
		return [][2]string{{key, strings.Join(value, " ")}}, nil
	}
	pairs := make([][2]string, 0, len(words))
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}

func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// parsePorts expands PORT[-END][/PROTO] into "PORT/PROTO" keys.
func parsePorts(spec string) ([]string, error) {
	rng, proto, ok := strings.Cut(spec, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("port %q: protocol must be tcp, udp or sctp", spec)
	}
	first, last, isRange := strings.Cut(rng, "-")
	lo, err := parsePort(first)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", spec, err)
	}
	hi := lo
	if isRange {
		if hi, err = parsePort(last); err != nil {
			return nil, fmt.Errorf("port %q: %w", spec, err)
		}
		if hi < lo {
			return nil, fmt.Errorf("port range %q ends before it starts", spec)
		}
	}
	var out []string
	for p := lo; p <= hi; p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%q is not a port number between 1 and 65535", s)
	}
	return p, nil
}

// parseSignal accepts a signal number or a name with or without SIG, and
// returns it as the image config records it: the number as given, or the
// name in the SIGNAME form.
func parseSignal(s string) (string, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return "", fmt.Errorf("signal %d is out of range 1-64", n)
		}
		return s, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if unix.SignalNum(name) == 0 {
		return "", fmt.Errorf("unknown signal %q", s)
	}
	return name, nil
}

func singleWord(instr, args string) (string, error) {
	words, err := shellWords(args)
	if err != nil {
		return "", err
	}
	if len(words) != 1 {
		return "", fmt.Errorf("%s takes one argument, not %d", instr, len(words))
	}
	return words[0], nil
}

// shellWords splits s at unquoted blanks, honouring single quotes, double
// quotes (where backslash escapes " and \) and backslash escapes outside
// quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && r != '"' && r != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		cur.WriteRune('\\')
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
