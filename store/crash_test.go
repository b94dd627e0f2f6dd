package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The crash test re-runs this test binary as a child that saves tokens in a
// loop until it is SIGKILLed; these variables tell the child what to open.
const (
	crashDBEnv  = "VITRINE_STORE_CRASH_DB"
	crashKeyEnv = "VITRINE_STORE_CRASH_KEY"
)

// crashToken is the n-th token the child saves. Every field derives from n,
// and the profile URL makes the row span several database pages, so a row
// mixing two saves is detectable.
func crashToken(n int) Token {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return Token{
		AccessToken:       fmt.Sprintf("token-%06d", n),
		UserID:            strconv.Itoa(n),
		Username:          fmt.Sprintf("user-%d", n),
		Name:              fmt.Sprintf("Name %d", n),
		AccountType:       "BUSINESS",
		ProfilePictureURL: fmt.Sprintf("https://cdn.example/%06d/", n) + strings.Repeat(strconv.Itoa(n%10), 9000),
		MediaCount:        n,
		FollowersCount:    2 * n,
		Scopes:            "instagram_business_basic",
		IssuedAt:          base.Add(time.Duration(n) * time.Second),
		ExpiresAt:         base.Add(time.Duration(n) * time.Hour),
		StatusReason:      fmt.Sprintf("save %d", n),
	}
}

// TestHelperSaveTokenLoop is the child of TestCrashDuringSaveToken; it does
// nothing in a normal run.
func TestHelperSaveTokenLoop(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("helper process for TestCrashDuringSaveToken")
	}
	key, err := hex.DecodeString(os.Getenv(crashKeyEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad key:", err)
		os.Exit(2)
	}
	s, err := Open(path, key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	for n := 1; ; n++ {
		if err := s.SaveToken(ctx, crashToken(n)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if n == 1 {
			fmt.Println("ready")
		}
	}
}

func TestCrashDuringSaveToken(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	key := newKey(t)
	ctx := context.Background()
	highest := 0
	for round := range rounds {
		n := crashRound(t, path, key)
		highest = max(highest, n)
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
	t.Logf("%d rounds; the longest-lived child reached save %d", rounds, highest)

	// The database is still usable for writes after all those crashes.
	s, err := Open(path, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveToken(ctx, aToken()); err != nil {
		t.Errorf("SaveToken after crashes: %v", err)
	}
}

// crashRound starts the child, kills it at a random moment after its first
// save, and checks the token left behind. It returns that token's number.
func crashRound(t *testing.T, path string, key []byte) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperSaveTokenLoop$")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashKeyEnv+"="+hex.EncodeToString(key))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not get ready: %q, %v; stderr:\n%s", line, err, stderr.String())
	}
	time.Sleep(rand.N(31 * time.Millisecond))
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no clean close
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s, err := Open(path, key)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	if err := s.IntegrityCheck(context.Background()); err != nil {
		t.Fatalf("after kill: %v", err)
	}
	got, err := s.Token(context.Background())
	if err != nil {
		t.Fatalf("Token after kill: %v", err)
	}
	num, ok := strings.CutPrefix(got.AccessToken, "token-")
	n, err := strconv.Atoi(num)
	if !ok || len(num) != 6 || err != nil || n < 1 {
		t.Fatalf("access token after kill is malformed (%d bytes)", len(got.AccessToken))
	}
	want := crashToken(n)
	want.Status, want.StatusChangedAt = StatusValid, got.StatusChangedAt
	want.ConnectedAt, want.UpdatedAt = got.ConnectedAt, got.UpdatedAt
	if !tokensEqual(got, want) {
		t.Fatalf("token %d after kill is not the one saved: fields %.200s… issued %v expires %v",
			n, fieldsOf(got), got.IssuedAt, got.ExpiresAt)
	}
	return n
}
