package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// CacheKey is the layer cache's key of one step: the image the step starts
// from, the instruction's text, the build arguments in scope (as
// KEY=VALUE), and extra inputs such as the digest of the files a COPY
// reads or the image a COPY --from reads. Two steps with the same key
// produce the same image.
func CacheKey(parent, instruction string, args []string, extra ...string) string {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "parent %s\ninstruction %q\n", parent, instruction)
	for _, a := range args {
		_, _ = fmt.Fprintf(h, "arg %q\n", a)
	}
	for _, x := range extra {
		_, _ = fmt.Fprintf(h, "extra %q\n", x)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ParseTriggers parses an image's ONBUILD triggers, which run right after
// the FROM that names the image. Errors wrap define.ErrInvalidArg.
func ParseTriggers(triggers []string) ([]instructions.Command, error) {
	var out []instructions.Command
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return nil, fmt.Errorf("ONBUILD trigger %q of the base image: %w: %w", t, err, define.ErrInvalidArg)
		}
		for _, n := range res.AST.Children {
			c, err := instructions.ParseCommand(n)
			if err != nil {
				return nil, fmt.Errorf("ONBUILD trigger %q of the base image: %w: %w", t, err, define.ErrInvalidArg)
			}
			out = append(out, c)
		}
	}
	return out, nil
}
