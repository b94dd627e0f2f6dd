package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

func TestHashPasswordPrintsAHashOfStdin(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"hash-password"}, strings.NewReader("correct horse\n"), &out, &errOut)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	hash := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Errorf("printed hash does not match the password: %v", err)
	}
	if strings.Contains(out.String()+errOut.String(), "correct horse") {
		t.Error("the password was echoed")
	}
}

func TestHashPasswordRefusesEmptyTooShortAndTooLong(t *testing.T) {
	for name, input := range map[string]string{"empty": "\n", "too short": "hunter2\n", "nine letters": "ninechars\n",
		"too long": strings.Repeat("x", 73)} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), []string{"hash-password"}, strings.NewReader(input), &out, &errOut); code != ExitUsage {
			t.Errorf("%s: exit %d, want %d", name, code, ExitUsage)
		}
		if out.Len() != 0 || errOut.Len() == 0 {
			t.Errorf("%s: want an explanation on stderr and nothing on stdout; got %q / %q", name, out.String(), errOut.String())
		}
	}
}

func TestUnknownCommandAndFlagExitTwo(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"serve", "-nope"}, {"status", "extra"}} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, nil, &out, &errOut); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

func TestBadConfigExitsTwoNamingEveryKey(t *testing.T) {
	testkit.CleanEnv(t)
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("server:\n  addr: nowhere\nwidget:\n  columns: 0\njobs:\n  sync: sometimes\n"), 0o600)
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"-config", path, "-demo"}, nil, &out, &errOut)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitUsage, errOut.String())
	}
	for _, key := range []string{"server.addr", "widget.columns", "jobs.sync"} {
		if !strings.Contains(errOut.String(), key+":") {
			t.Errorf("stderr does not name %s:\n%s", key, errOut.String())
		}
	}
	if strings.Contains(errOut.String(), "goroutine") {
		t.Errorf("stderr carries a stack:\n%s", errOut.String())
	}
}

func TestStatusWithoutDatabaseSaysNotConnected(t *testing.T) {
	testkit.CleanEnv(t)
	t.Setenv("VITRINE_DATA_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"status"}, nil, &out, &errOut)
	if code != ExitFailure || !strings.Contains(out.String(), "not connected") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// TestSyncAndStatusCommands runs `vitrine sync` and `vitrine status` as an
// operator would, against the fake Instagram on loopback.
func TestSyncAndStatusCommands(t *testing.T) {
	v := testvitrine.New(t, testvitrine.Posts(8), testvitrine.SmallPictures(), testvitrine.RealTime())
	f := v.Fake
	configureFromEnv(t, v)
	runCmd := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), args, nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}

	if code, out := runCmd("sync"); code != ExitFailure || !strings.Contains(out, "not connected") {
		t.Fatalf("sync before connecting: exit %d\n%s", code, out)
	}

	// Connect as the admin callback would: a long-lived token in the store.
	acct := v.StoreToken()

	code, out := runCmd("sync")
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("synced: %d posts", len(f.MediaIDs()))) {
		t.Fatalf("sync: exit %d\n%s", code, out)
	}
	code, out = runCmd("status")
	if code != ExitOK || !strings.Contains(out, "@"+acct.Username) || !strings.Contains(out, fmt.Sprintf("%d cached", len(f.MediaIDs()))) {
		t.Fatalf("status when healthy: exit %d\n%s", code, out)
	}

	// A connection waiting for the owner's confirmation is shown, and
	// changes nothing else.
	ctx, until := context.Background(), time.Now().Add(time.Hour)
	v.Track("parked-token")
	if err := v.Store.ParkToken(ctx, store.Token{AccessToken: "parked-token", UserID: "99", Username: "someone.else"}, until); err != nil {
		t.Fatal(err)
	}
	code, out = runCmd("status")
	if want := "waiting:  @someone.else, for your confirmation on /admin until " + until.UTC().Format("15:04 UTC"); code != ExitOK || !strings.Contains(out, want) || !strings.Contains(out, "@"+acct.Username) || strings.Contains(out, "parked-token") {
		t.Fatalf("status with a parked connection: exit %d, want %q in\n%s", code, want, out)
	}

	// As the README runs it on a server: the data directory alone, without
	// Instagram's credentials or the admin's password hash.
	func() {
		for _, k := range []string{"VITRINE_SERVER_PUBLIC_URL", "VITRINE_ADMIN_PASSWORD_HASH", "VITRINE_INSTAGRAM_CLIENT_ID",
			"VITRINE_INSTAGRAM_CLIENT_SECRET"} {
			t.Setenv(k, "")
		}
		defer configureFromEnv(t, v)
		if code, out := runCmd("status"); code != ExitOK || !strings.Contains(out, "@"+acct.Username) {
			t.Errorf("status with the data directory alone: exit %d\n%s", code, out)
		}
	}()

	// While the server's sync holds the job (on SQLite the server's
	// processes are all "local"), the command's is refused, not run beside it.
	if held, err := v.Store.AcquireLease(ctx, "job:sync", "local", time.Minute); err != nil || !held {
		t.Fatalf("AcquireLease = %v, %v", held, err)
	}
	if code, out := runCmd("sync"); code != ExitFailure || !strings.Contains(out, "running already") {
		t.Errorf("sync while the server's runs: exit %d\n%s", code, out)
	}
	if err := v.Store.ReleaseLease(ctx, "job:sync", "local"); err != nil {
		t.Fatal(err)
	}

	f.RevokeTokens()
	if code, out := runCmd("sync"); code != ExitFailure {
		t.Fatalf("sync with a revoked token: exit %d\n%s", code, out)
	}
	code, out = runCmd("status")
	if code != ExitFailure || !strings.Contains(out, "needs_reauth") {
		t.Fatalf("status after revocation: exit %d\n%s", code, out)
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, nil, &out, &errOut); code != ExitOK {
			t.Errorf("%v: exit %d, want %d; stderr %q", args, code, ExitOK, errOut.String())
		}
		for _, c := range []string{"serve", "hash-password", "status", "sync"} {
			if !regexp.MustCompile(`(?m)^\t` + c + ` +\S`).MatchString(out.String()) {
				t.Errorf("%v: no line for %s:\n%s", args, c, out.String())
			}
		}
		if strings.Contains(out.String(), "-addr") {
			t.Errorf("%v: the command list shows serve's flags:\n%s", args, out.String())
		}
	}
}

func TestCommandHelpShowsItsFlags(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"serve":  {"-config", "-addr", "-demo", "-demo-connect", "-demo-posts"},
		"status": {"-config"},
		"sync":   {"-config"},
	} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), []string{cmd, "-h"}, nil, &out, &errOut); code != ExitUsage {
			t.Errorf("%s -h: exit %d, want %d", cmd, code, ExitUsage)
		}
		if !strings.Contains(errOut.String(), "Usage: vitrine "+cmd+" [flags]") {
			t.Errorf("%s -h: no usage line:\n%s", cmd, errOut.String())
		}
		for _, f := range flags {
			if !regexp.MustCompile(`(?m)^  ` + f + `( |$)`).MatchString(errOut.String()) {
				t.Errorf("%s -h: flag %s missing:\n%s", cmd, f, errOut.String())
			}
		}
		if cmd != "serve" && strings.Contains(errOut.String(), "-addr") {
			t.Errorf("%s -h lists serve's flags:\n%s", cmd, errOut.String())
		}
	}
}

// configureFromEnv points the commands' configuration (VITRINE_*) at v's:
// its data directory (database and key) and its fake Instagram.
func configureFromEnv(t *testing.T, v *testvitrine.Vitrine) {
	t.Helper()
	c := v.Config
	for k, val := range map[string]string{
		"VITRINE_DATA_DIR":                c.DataDir,
		"VITRINE_SERVER_PUBLIC_URL":       c.Server.PublicURL,
		"VITRINE_ADMIN_PASSWORD_HASH":     testvitrine.PasswordHash(), // the cost the commands accept
		"VITRINE_INSTAGRAM_CLIENT_ID":     c.Instagram.ClientID,
		"VITRINE_INSTAGRAM_CLIENT_SECRET": c.Instagram.ClientSecret,
		"VITRINE_INSTAGRAM_AUTH_URL":      c.Instagram.AuthURL,
		"VITRINE_INSTAGRAM_TOKEN_URL":     c.Instagram.TokenURL,
		"VITRINE_INSTAGRAM_GRAPH_URL":     c.Instagram.GraphURL,
		"VITRINE_INSTAGRAM_MEDIA_HOSTS":   strings.Join(c.Instagram.MediaHosts, ","),
		"VITRINE_WIDGET_WEBP":             strconv.FormatBool(c.Widget.WebP),
	} {
		t.Setenv(k, val)
	}
}
