package device

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lokero/lokero/mqtttest"
)

// startMosquitto starts mosquitto with the lockers' and the centre's
// listeners of mqtttest.Conf, their password files and the ACL file of
// MosquittoACL, all written by this package, and kills it at cleanup.
func startMosquitto(t *testing.T) *brokerEnv {
	t.Helper()
	mqtttest.Find(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	aclFile := filepath.Join(dir, "acl")
	e := &brokerEnv{
		centreUser: "lokero-centre", centrePass: "centre-secret",
		lockers: make(chan lockerCred, numLockers),
	}
	if err := SetMosquittoPassword(filepath.Join(dir, "passwd-centre"), e.centreUser, e.centrePass); err != nil {
		t.Fatal(err)
	}
	for i := range numLockers {
		l := lockerCred{id: fmt.Sprintf("loc-%02d", i), token: fmt.Sprintf("token-%02d", i)}
		if err := SetMosquittoPassword(pwFile, l.id, l.token); err != nil {
			t.Fatal(err)
		}
		e.lockers <- l
	}
	if err := os.WriteFile(aclFile, []byte(MosquittoACL(e.centreUser)), 0o600); err != nil {
		t.Fatal(err)
	}
	m := mqtttest.Start(t, dir)
	e.url, e.centreURL = "tcp://"+m.Addr, "tcp://"+m.CentreAddr
	var reload sync.Mutex
	e.revoke = func(t *testing.T, id string) {
		t.Helper()
		reload.Lock()
		defer reload.Unlock()
		if err := RemoveMosquittoUser(pwFile, id); err != nil {
			t.Fatal(err)
		}
		m.Reload(t)
	}
	return e
}

func TestMosquittoACL(t *testing.T) {
	t.Parallel()
	e := startMosquitto(t)
	runACLChecks(t, e)
}

func TestSetMosquittoPassword(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passwd")
	if err := RemoveMosquittoUser(path, "a"); err != nil {
		t.Fatalf("remove from a missing file: %v", err)
	}
	steps := []struct {
		name string
		do   func() error
		want map[string]string // user → password
	}{
		{"create", func() error { return SetMosquittoPassword(path, "a", "pa") }, map[string]string{"a": "pa"}},
		{"add", func() error { return SetMosquittoPassword(path, "b", "pb") }, map[string]string{"a": "pa", "b": "pb"}},
		{"replace", func() error { return SetMosquittoPassword(path, "a", "pa2") }, map[string]string{"a": "pa2", "b": "pb"}},
		{"remove", func() error { return RemoveMosquittoUser(path, "a") }, map[string]string{"b": "pb"}},
		{"remove absent", func() error { return RemoveMosquittoUser(path, "a") }, map[string]string{"b": "pb"}},
		{"prefix is another user", func() error { return SetMosquittoPassword(path, "bb", "pbb") }, map[string]string{"b": "pb", "bb": "pbb"}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := readPasswordFile(t, path)
		if len(got) != len(s.want) {
			t.Fatalf("%s: users %v, want %v", s.name, got, s.want)
		}
		for user, pw := range s.want {
			if !mosquittoHashMatches(t, got[user], pw) {
				t.Errorf("%s: %q's line %q does not match its password", s.name, user, got[user])
			}
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	for _, bad := range []string{"", "a:b", "a\nb"} {
		if err := SetMosquittoPassword(path, bad, "p"); err == nil {
			t.Errorf("username %q accepted", bad)
		}
	}
	if err := SetMosquittoPassword(path, "c", ""); err == nil {
		t.Error("empty password accepted")
	}
	if err := SetMosquittoPassword(filepath.Join(path, "x"), "a", "p"); err == nil {
		t.Error("password file under a file: no error")
	}
}

// readPasswordFile returns a password file's lines by user, checking
// their format.
func readPasswordFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for line := range strings.Lines(string(data)) {
		user, hash, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		if !ok {
			t.Fatalf("line %q has no ':'", line)
		}
		if _, dup := users[user]; dup {
			t.Fatalf("user %q twice", user)
		}
		users[user] = hash
	}
	return users
}

// mosquittoHashMatches checks a "$7$iterations$salt$hash" entry as
// mosquitto does.
func mosquittoHashMatches(t *testing.T, entry, password string) bool {
	t.Helper()
	parts := strings.Split(entry, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "7" {
		t.Fatalf("entry %q is not $7$iterations$salt$hash", entry)
	}
	iter, err := strconv.Atoi(parts[2])
	if err != nil || iter != mosquittoIterations {
		t.Fatalf("entry %q: iterations %q", entry, parts[2])
	}
	salt, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(salt) != mosquittoSaltLen {
		t.Fatalf("entry %q: salt %q: %v", entry, parts[3], err)
	}
	hash, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(hash) != mosquittoHashLen {
		t.Fatalf("entry %q: hash %q: %v", entry, parts[4], err)
	}
	want, err := pbkdf2.Key(sha512.New, password, salt, iter, len(hash))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(hash, want)
}

func TestMosquittoACLText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		centre string
		want   []string
		absent []string
	}{
		{"lokero-centre", []string{
			"pattern write lokero/v1/lockers/%u/events\n",
			"pattern write lokero/v1/lockers/%u/status\n",
			"pattern read lokero/v1/lockers/%u/commands\n",
			"pattern read lokero/v1/lockers/%u/acks\n",
			"user lokero-centre\ntopic readwrite lokero/v1/lockers/#\n",
		}, []string{"readwrite lokero/v1/lockers/%u", "topic readwrite #"}},
		{"bad\nuser", []string{"pattern read lokero/v1/lockers/%u/acks\n"}, []string{"\nuser ", "topic readwrite"}},
		{"has space", nil, []string{"\nuser ", "topic readwrite"}},
	}
	for _, c := range cases {
		acl := MosquittoACL(c.centre)
		for _, w := range c.want {
			if !strings.Contains(acl, w) {
				t.Errorf("MosquittoACL(%q) lacks %q:\n%s", c.centre, w, acl)
			}
		}
		for _, a := range c.absent {
			if strings.Contains(acl, a) {
				t.Errorf("MosquittoACL(%q) has %q:\n%s", c.centre, a, acl)
			}
		}
	}
}
