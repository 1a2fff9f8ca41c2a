// Command tokenaudit audits the access tokens of a GitLab instance or group.
// Run `tokenaudit --help`, or `go run ./cmd/tokenaudit demo` to try it.
package main

import (
	"os"

	"github.com/tokenaudit/tokenaudit/cmd/tokenaudit/internal/cli"
)

func main() { os.Exit(cli.Main()) }
