package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// cmdHashPassword prints a bcrypt hash for a dev user's password_hash, reading the password from
// standard input so it never lands in shell history or the process list.
func cmdHashPassword(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hash-password", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprint(stderr, "password: ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		fmt.Fprintln(stderr, "vmcp hash-password: empty password")
		return exitCode(1)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(hash))
	return nil
}
