package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

const hashPasswordSummary = "read a password on stdin, print its bcrypt hash"

// hashPassword prints the bcrypt hash of the password read on stdin. At a
// terminal it asks without echoing; piped, it reads the first line.
// minPasswordLength is the shortest admin password hash-password accepts:
// the admin page faces the internet, and the login throttle only slows a
// guesser down.
const minPasswordLength = 10

func hashPassword(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// No flags; -h says what the command does.
	if len(args) > 0 && isHelpFlag(args[0]) {
		fmt.Fprintf(stderr, "Usage: vitrine hash-password\n\n%s\n", hashPasswordSummary)
		return ExitUsage
	}

	var password []byte
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			fmt.Fprintln(stderr, "vitrine: read password:", err)
			return ExitFailure
		}
		password = p
	} else {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(stderr, "vitrine: read password:", err)
			return ExitFailure
		}
		password = []byte(strings.TrimRight(line, "\r\n"))
	}
	if len(password) == 0 {
		fmt.Fprintln(stderr, "vitrine: empty password; pipe one in, e.g. echo 'a long passphrase' | vitrine hash-password")
		return ExitUsage
	}
	if n := utf8.RuneCount(password); n < minPasswordLength {
		fmt.Fprintf(stderr, "vitrine: the password has %d characters; use at least %d (a few words make a good one)\n", n, minPasswordLength)
		return ExitUsage
	}
	hash, err := bcrypt.GenerateFromPassword(password, bcrypt.DefaultCost)
	if errors.Is(err, bcrypt.ErrPasswordTooLong) {
		fmt.Fprintln(stderr, "vitrine: password longer than 72 bytes, which bcrypt cannot use; choose a shorter one")
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine: hash password:", err)
		return ExitFailure
	}
	fmt.Fprintln(stdout, string(hash))
	return ExitOK
}
