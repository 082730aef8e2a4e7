// Package pgtest runs a throwaway PostgreSQL cluster for tests and
// benchmarks, from the local PostgreSQL install (Debian's postgresql
// package: /usr/lib/postgresql/*/bin), with no Docker and no network.
//
// One cluster serves a whole test binary; every test gets its own empty
// database on it. In the test package:
//
//	func TestMain(m *testing.M) { pgtest.ForTest(m) }
//
//	func TestSomething(t *testing.T) {
//		c := pgtest.Require(t) // skips (or fails in CI) without PostgreSQL
//		url, err := c.CreateDatabase(t.Context())
//		...
//	}
//
// The cluster is started lazily by the first Require, so a test binary
// whose PostgreSQL tests are filtered out by -run never pays for initdb,
// and is stopped (its temp dir removed) when m.Run returns. Start and Stop
// can also be used directly, e.g. by benchmarks outside go test.
//
// The cluster lives in a fresh temp dir (data directory and unix socket),
// listens on 127.0.0.1 at a free port, trusts every local connection
// (initdb -A trust, superuser "postgres") and runs with fsync off: it is
// fast and must never hold data anyone cares about. initdb and postgres
// refuse to run as root, so when the test runs as root they run as the
// "postgres" OS user, which the Debian package creates.
//
// With PGTEST_STATEMENT_LOG=FILE in the environment, the cluster logs
// every statement it runs to FILE (appended; each line starts with the
// backend's PID): how lokero bench peak's statements a parcel's life are
// counted (docs/benchmarks.md).
package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// ErrNotInstalled is returned (wrapped) by Start when no PostgreSQL install
// is found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed (apt-get install postgresql)")

// binGlob is where Debian installs PostgreSQL's server programs, one
// directory per major version. (A variable for this package's tests.)
var binGlob = "/usr/lib/postgresql/*/bin"

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir     string // temp dir: data/, the unix socket, postgres.log
	bin     string // directory of initdb, postgres
	port    int
	cred    *syscall.Credential // run the server as this user (nil: as ourselves)
	cmd     *exec.Cmd
	done    chan struct{} // closed when the server process has exited
	waitErr error         // the server's exit status, valid after done
	admin   *sql.DB       // to the "postgres" database, for CREATE DATABASE
	seq     atomic.Int64
	stop    sync.Once
	stopErr error
}

// Start initialises and starts a new cluster in a temp dir. Stop it with
// Stop. It returns an error wrapping ErrNotInstalled when there is no
// PostgreSQL install (no initdb under /usr/lib/postgresql/*/bin nor on
// PATH).
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := findBinDir(binGlob, os.Getenv("PATH"))
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	parent := os.TempDir()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root, and initdb refuses root: need the postgres OS user to run PostgreSQL as: %w", err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("pgtest: postgres user: %w", err)
		}
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if !worldTraversable(parent) {
			parent = "/tmp" // the postgres user must reach its data directory
		}
	}
	c.dir, err = os.MkdirTemp(parent, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := c.start(ctx); err != nil {
		c.kill()
		return nil, errors.Join(err, os.RemoveAll(c.dir))
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	initdb := c.command(ctx, "initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", initdb, err, out)
	}
	// A free port may be taken by someone else before the server binds it:
	// try a few.
	var err error
	for range 3 {
		if err = c.startServer(ctx); err == nil {
			break
		}
		c.kill()
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return err
	}
	c.admin, err = sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// StatementLogEnv names the environment variable that, set to a file,
// has the cluster log every statement there (see the package comment).
const StatementLogEnv = "PGTEST_STATEMENT_LOG"

func (c *Cluster) startServer(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("pgtest: free port: %w", err)
	}
	c.port = port
	logPath, extra := c.logPath(), []string(nil)
	if p := os.Getenv(StatementLogEnv); p != "" {
		logPath, extra = p, []string{"-c", "log_statement=all", "-c", "log_line_prefix=%p "}
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close() // the child has its own copy
	// Not CommandContext: the server outlives ctx, which only bounds startup.
	cmd := c.command(context.Background(), "postgres",
		"-D", c.dataDir(),
		"-p", strconv.Itoa(port),
		"-k", c.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers=32MB",
	)
	cmd.Args = append(cmd.Args, extra...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test binary dies without Stop, the server follows it
	// (SIGQUIT: immediate shutdown).
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	c.cmd = cmd
	c.done = make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return c.waitReady(ctx)
}

// waitReady polls until the server accepts connections, exits, or ctx
// (at most a minute) is done.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var err error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		var conn *pgx.Conn
		conn, err = pgx.Connect(cctx, c.URL("postgres"))
		ccancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.done:
			return fmt.Errorf("pgtest: postgres exited at startup (%v); log %s:\n%s", c.waitErr, c.logPath(), c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready: %w (last: %v); log:\n%s", ctx.Err(), err, c.logTail())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// command returns a command running one of PostgreSQL's programs, as the
// postgres user when we are root, with no PG* variables from our
// environment and in the cluster's dir (the test's working directory may
// be out of the postgres user's reach).
func (c *Cluster) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"LC_ALL=C"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// URL returns the URL of database dbname on the cluster.
func (c *Cluster) URL(dbname string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, dbname)
}

// Port returns the TCP port the cluster listens on (127.0.0.1).
func (c *Cluster) Port() int { return c.port }

// PID is the server's (the postmaster's) process ID.
func (c *Cluster) PID() int { return c.cmd.Process.Pid }

// CreateDatabase creates a new empty database with a unique name and
// returns its URL. The database lives until the cluster stops.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), c.seq.Add(1))
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// Stop stops the server (fast shutdown: open sessions are terminated) and
// removes the temp dir. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stop.Do(func() {
		var errs []error
		if c.admin != nil {
			errs = append(errs, c.admin.Close())
		}
		if c.cmd != nil {
			_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
			select {
			case <-c.done:
			case <-time.After(30 * time.Second):
				errs = append(errs, fmt.Errorf("pgtest: postgres did not stop in 30s: killed"))
				c.kill()
			}
		}
		errs = append(errs, os.RemoveAll(c.dir))
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// kill kills the server process, if any, and waits for it.
func (c *Cluster) kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Kill()
	<-c.done
	c.cmd = nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logPath())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// findBinDir returns the directory of the highest PostgreSQL version
// matching pattern that has initdb and postgres, or else the directory of
// initdb on path (when postgres is there too).
func findBinDir(pattern, path string) (string, error) {
	dirs, _ := filepath.Glob(pattern)
	slices.SortFunc(dirs, func(a, b string) int { // highest version first
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d != "" && isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: no initdb and postgres under %s nor on PATH", ErrNotInstalled, pattern)
}

// compareVersions compares dotted version numbers ("9.6" < "15" < "16.1").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// worldTraversable reports whether every directory from dir up to the root
// may be entered by other users.
func worldTraversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode()&fs.ModePerm&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
