package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeyGeneratesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	k1, err := LoadOrCreateKey(dir, "")
	if err != nil {
		t.Fatalf("first LoadOrCreateKey: %v", err)
	}
	if len(k1) != KeySize {
		t.Fatalf("key is %d bytes, want %d", len(k1), KeySize)
	}
	dirInfo, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := dirInfo.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir mode = %04o, want 0700", perm)
	}
	fileInfo, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fileInfo.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	k2, err := LoadOrCreateKey(dir, "")
	if err != nil {
		t.Fatalf("second LoadOrCreateKey: %v", err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("second start got a different key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only %s (temp files left behind?)", len(entries), KeyFileName)
	}
}

func TestLoadOrCreateKeyConcurrentStartersAgree(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey(dir, "") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("starter %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("starter %d got a different key than starter 0", i)
		}
	}
}

func TestLoadOrCreateKeyFromEnv(t *testing.T) {
	want := bytes.Repeat([]byte{0xfb, 0xff, 0x3e}, 11)[:KeySize] // exercises +/ vs -_
	for name, env := range map[string]string{
		"base64 std":         base64.StdEncoding.EncodeToString(want),
		"base64 std raw":     base64.RawStdEncoding.EncodeToString(want),
		"base64 url":         base64.URLEncoding.EncodeToString(want),
		"base64 url raw":     base64.RawURLEncoding.EncodeToString(want),
		"hex":                hex.EncodeToString(want),
		"HEX":                strings.ToUpper(hex.EncodeToString(want)),
		"trailing newline":   base64.StdEncoding.EncodeToString(want) + "\n",
		"surrounding spaces": "  " + hex.EncodeToString(want) + " ",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := LoadOrCreateKey(dir, env)
			if err != nil {
				t.Fatalf("LoadOrCreateKey: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("key = %x, want %x", got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !os.IsNotExist(err) {
				t.Errorf("a key file was written although the env key was set (stat err %v)", err)
			}
		})
	}
}

func TestLoadOrCreateKeyRejectsBadEnvKey(t *testing.T) {
	for name, env := range map[string]string{
		"too short":        "c2hvcnQta2V5LXZhbHVl",
		"16 bytes base64":  base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16)),
		"31 bytes hex":     hex.EncodeToString(bytes.Repeat([]byte{7}, 31)),
		"33 bytes base64":  base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 33)),
		"not encoded":      "correct horse battery staple!! correct horse",
		"blank":            "   ",
		"64 chars not hex": strings.Repeat("zz", KeySize),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadOrCreateKey(t.TempDir(), env)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, "VITRINE_SECRET_KEY") || !strings.Contains(msg, "base64") || !strings.Contains(msg, "hex") {
				t.Errorf("error %q should name VITRINE_SECRET_KEY and the expected encodings", msg)
			}
			if v := strings.TrimSpace(env); v != "" && strings.Contains(msg, v) {
				t.Errorf("error %q echoes the value", msg)
			}
		})
	}
}

func writeKeyFile(t *testing.T, data []byte, perm os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile honours the umask
		t.Fatal(err)
	}
	return dir
}

func TestLoadOrCreateKeyRejectsOpenPermissions(t *testing.T) {
	for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		dir := writeKeyFile(t, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize))), perm)
		_, err := LoadOrCreateKey(dir, "")
		if err == nil {
			t.Errorf("mode %04o accepted", perm)
			continue
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: error %q should say how to fix it", perm, err)
		}
	}
}

func TestLoadOrCreateKeyRejectsWrongLength(t *testing.T) {
	for name, data := range map[string][]byte{
		"16 raw bytes":    bytes.Repeat([]byte{1}, 16),
		"16 bytes base64": []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16)) + "\n"),
		"empty":           nil,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeKeyFile(t, data, 0o600)
			_, err := LoadOrCreateKey(dir, "")
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), KeyFileName) {
				t.Errorf("error %q should name the file", err)
			}
		})
	}
}

func TestLoadOrCreateKeyAcceptsRawKeyFile(t *testing.T) {
	want := bytes.Repeat([]byte{9}, KeySize)
	dir := writeKeyFile(t, want, 0o400)
	got, err := LoadOrCreateKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("key = %x, want %x", got, want)
	}
}
