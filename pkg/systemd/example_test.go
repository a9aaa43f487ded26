package systemd_test

import (
	"fmt"

	"github.com/engine-oss/engine/pkg/systemd"
)

func ExampleCommandLine() {
	line := systemd.CommandLine([]string{"/usr/bin/engine", "run", "--env=GREETING=hello world", "alpine", "sh", "-c", `echo "$GREETING"`})
	fmt.Println("ExecStart=" + line)
	args, _ := systemd.SplitWords(line)
	fmt.Printf("%q\n", args[2])
	// Output:
	// ExecStart=/usr/bin/engine run "--env=GREETING=hello world" alpine sh -c "echo \"$GREETING\""
	// "--env=GREETING=hello world"
}
