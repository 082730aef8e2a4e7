package device

// The files that give Mosquitto 2.0 (Debian bookworm's mosquitto 2.0.11)
// the rules of the embedded broker: password files (password_file)
// hashed as mosquitto_passwd does, and an ACL file (acl_file) with the
// locker rules of Allowed as "pattern" lines. Mosquitto reads them at
// start and on SIGHUP: after changing them, signal it (or restart it).
//
// Mosquitto serves lokero on two listeners (mqtttest.Conf has the lines;
// docs/device-protocol.md gives them to operators): the lockers' reads
// password_file passwd and sets use_username_as_clientid, so that a
// locker's client ID is its username, its location ID, whatever it asks
// for, and no locker takes over another's connection or persistent
// session; the centre's reads only passwd-centre, so that no locker's
// credential connects where client IDs are free. Both read the one acl.
//
// What Mosquitto with these files does not enforce, and the embedded
// broker does (checked against mosquitto 2.0.11 by mosquitto_test.go):
//   - A locker asking for another's client ID is not refused: it gets its
//     own (its username) instead.
//   - A subscription is not refused: acl_file has no subscribe rules, so
//     the SUBACK grants any filter, and the ACL is applied to each message
//     delivered instead (a locker subscribed to another's commands, or to
//     a wildcard, receives nothing but its own commands and acks).
//   - A will on a topic the client may not write is not refused at
//     connect; it is dropped when it would be sent.
//   - The retain flag is not restricted: a locker may publish retained
//     messages on its events topic as well as its status topic.
//   - A refused publish is acknowledged and dropped (MQTT 3.1.1); the
//     embedded broker drops a refused QoS 1 publisher's connection.
//
// Enforced by both: no anonymous clients; each locker publishes only on
// its events and status topics and receives only its commands and acks;
// the centre user reads and writes everything under Prefix, shared
// subscriptions included. Revoking a locker (RemoveMosquittoUser, then
// SIGHUP) refuses its new connections and drops the one it has.

import (
	"bufio"
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The parameters of mosquitto_passwd's default hash ("$7$": PBKDF2 with
// HMAC-SHA512) in mosquitto 2.0.
const (
	mosquittoHashType   = 7
	mosquittoIterations = 101
	mosquittoSaltLen    = 12
	mosquittoHashLen    = 64
)

// SetMosquittoPassword adds or replaces username's line in the mosquitto
// password file at path (created 0600 if missing; an existing file keeps
// its mode), hashed as mosquitto_passwd does:
// "username:$7$101$<base64 salt>$<base64 PBKDF2-SHA512 hash>". The file
// is replaced atomically (a temporary file renamed over it). It is not
// safe against another writer of the same file at the same time.
func SetMosquittoPassword(path, username, password string) error {
	if err := validMosquittoUser(username); err != nil {
		return fmt.Errorf("device: set mosquitto password: %w", err)
	}
	if password == "" {
		return errors.New("device: set mosquitto password: empty password")
	}
	line, err := mosquittoPasswordLine(username, password)
	if err != nil {
		return fmt.Errorf("device: set mosquitto password for %q: %w", username, err)
	}
	lines, mode, err := readMosquittoPasswords(path)
	if err != nil {
		return fmt.Errorf("device: set mosquitto password for %q: %w", username, err)
	}
	kept, _ := withoutUser(lines, username)
	kept = append(kept, line)
	if err := writeFileAtomic(path, kept, mode); err != nil {
		return fmt.Errorf("device: set mosquitto password for %q: %w", username, err)
	}
	return nil
}

// RemoveMosquittoUser removes username's line from the mosquitto password
// file at path; it is not an error if the user or the file is absent.
func RemoveMosquittoUser(path, username string) error {
	lines, mode, err := readMosquittoPasswords(path)
	if err != nil {
		return fmt.Errorf("device: remove mosquitto user %q: %w", username, err)
	}
	kept, removed := withoutUser(lines, username)
	if !removed {
		return nil
	}
	if err := writeFileAtomic(path, kept, mode); err != nil {
		return fmt.Errorf("device: remove mosquitto user %q: %w", username, err)
	}
	return nil
}

// MosquittoACL returns the text of a mosquitto ACL file: centreUser may
// read and write every topic under Prefix (shared subscriptions
// included); every other user is a locker whose username is its location
// ID and gets, through "pattern" lines with %u, the locker rules of
// Allowed: write its events and status topics, read its commands and acks
// topics. Nothing else is granted. centreUser must be a valid mosquitto
// username (no ':', whitespace or control characters); if it is not, the
// file grants the centre nothing.
func MosquittoACL(centreUser string) string {
	var b strings.Builder
	b.WriteString("# Written by lokero (lokero locker provision --mosquitto): the rules of\n")
	b.WriteString("# lokero's device protocol. Anything not granted here is refused.\n\n")
	b.WriteString("# Every locker: its username is its location ID.\n")
	fmt.Fprintf(&b, "pattern write %s\n", Topic("%u", KindEvents))
	fmt.Fprintf(&b, "pattern write %s\n", Topic("%u", KindStatus))
	fmt.Fprintf(&b, "pattern read %s\n", Topic("%u", KindCommands))
	fmt.Fprintf(&b, "pattern read %s\n", Topic("%u", KindAcks))
	if validMosquittoUser(centreUser) == nil && !strings.ContainsAny(centreUser, " \t") {
		b.WriteString("\n# The centre (lokero serve).\n")
		fmt.Fprintf(&b, "user %s\n", centreUser)
		fmt.Fprintf(&b, "topic readwrite %s#\n", Prefix)
	} else {
		b.WriteString("\n# No valid centre user was given: the centre may do nothing.\n")
	}
	return b.String()
}

// mosquittoPasswordLine returns a password file line for username.
func mosquittoPasswordLine(username, password string) (string, error) {
	salt := make([]byte, mosquittoSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	hash, err := pbkdf2.Key(sha512.New, password, salt, mosquittoIterations, mosquittoHashLen)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	enc := base64.StdEncoding
	return fmt.Sprintf("%s:$%d$%d$%s$%s", username, mosquittoHashType, mosquittoIterations,
		enc.EncodeToString(salt), enc.EncodeToString(hash)), nil
}

// validMosquittoUser checks a username as mosquitto_passwd does.
func validMosquittoUser(username string) error {
	if username == "" {
		return errors.New("empty username")
	}
	if len(username) > 65535 {
		return errors.New("username too long")
	}
	for _, r := range username {
		if r < 0x20 || r == 0x7f || r == ':' {
			return fmt.Errorf("username %q has a control character or ':'", username)
		}
	}
	return nil
}

// readMosquittoPasswords returns the lines of the password file at path
// and its mode (0600 and no lines if it does not exist).
func readMosquittoPasswords(path string) ([]string, fs.FileMode, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			lines = append(lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return lines, fi.Mode().Perm(), nil
}

// withoutUser returns lines without those of username, and whether there
// were any.
func withoutUser(lines []string, username string) ([]string, bool) {
	kept := make([]string, 0, len(lines)+1)
	removed := false
	for _, l := range lines {
		user, _, _ := strings.Cut(l, ":")
		if strings.TrimSpace(user) == username {
			removed = true
			continue
		}
		kept = append(kept, l)
	}
	return kept, removed
}

// writeFileAtomic writes lines to a temporary file beside path and
// renames it over path.
func writeFileAtomic(path string, lines []string, mode fs.FileMode) (err error) {
	var data bytes.Buffer
	for _, l := range lines {
		data.WriteString(l)
		data.WriteByte('\n')
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if _, err := f.Write(data.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	return nil
}
