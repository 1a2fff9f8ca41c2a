//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "os"

func isTerminal(*os.File) bool   { return false }
func terminalWidth(*os.File) int { return 0 }
