package libengine

import (
	"crypto/rand"
	"encoding/binary"
)

// Word lists for generated container names, in docker's "adjective_noun" style.
var (
	nameAdjectives = []string{
		"agile", "bold", "brave", "bright", "busy", "calm", "clever", "cool", "crisp", "eager",
		"fair", "fast", "fond", "gentle", "glad", "happy", "hardy", "keen", "kind", "lively",
		"lucid", "merry", "modest", "neat", "nice", "noble", "plucky", "proud", "quick", "quiet",
		"sharp", "shy", "smart", "snappy", "steady", "sunny", "swift", "tidy", "vivid", "witty",
	}
	nameNouns = []string{
		"badger", "beaver", "bison", "crane", "dingo", "eagle", "falcon", "ferret", "gecko", "heron",
		"ibis", "jackal", "koala", "lemur", "lynx", "marmot", "newt", "ocelot", "otter", "panda",
		"puffin", "quail", "raven", "robin", "salmon", "seal", "shrew", "sloth", "stoat", "swan",
		"tapir", "tern", "toucan", "turtle", "viper", "walrus", "wombat", "wren", "yak", "zebra",
	}
)

func randomIndex(n int) int {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return int(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}

// randomName returns a name such as "swift_otter".
func randomName() string {
	return nameAdjectives[randomIndex(len(nameAdjectives))] + "_" + nameNouns[randomIndex(len(nameNouns))]
}
