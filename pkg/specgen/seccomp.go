package specgen

import (
	"fmt"
	"os"
	"slices"

	"github.com/engine-oss/engine/pkg/libengine/define"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// withSeccomp sets the seccomp filter: none when privileged or
// "unconfined", the JSON profile at SeccompProfilePath, or else moby's
// default profile. Profiles adapt to the host's architecture and kernel and
// to the capabilities already in the spec, so this must come after them.
// The default profile drops deadArches (see GenerateEnv.DeadArches).
func withSeccomp(sec Security, deadArches []string) specOpt {
	return func(spec *specs.Spec) error {
		spec.Linux.Seccomp = nil
		switch p := sec.SeccompProfilePath; {
		case sec.Privileged || p == "unconfined":
			return nil
		case p == "":
			profile, err := seccomp.GetDefaultProfile(spec)
			if err != nil {
				return fmt.Errorf("default seccomp profile: %w", err)
			}
			profile.Architectures = slices.DeleteFunc(profile.Architectures, func(a specs.Arch) bool {
				return slices.Contains(deadArches, string(a))
			})
			spec.Linux.Seccomp = profile
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("--security-opt seccomp=%s: cannot read the profile: %w: %w", p, define.ErrInvalidArg, err)
			}
			profile, err := seccomp.LoadProfile(string(data), spec)
			if err != nil {
				return fmt.Errorf("--security-opt seccomp=%s: not a seccomp profile, fix the JSON or use unconfined: %w: %w", p, define.ErrInvalidArg, err)
			}
			spec.Linux.Seccomp = profile
		}
		return nil
	}
}
