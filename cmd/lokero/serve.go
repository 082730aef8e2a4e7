package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
	"github.com/lokero/lokero/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	addr := fs.String("addr", envOr("LOKERO_ADDR", "127.0.0.1:8080"), "listen address (env LOKERO_ADDR)")
	db := dbFlag(fs)
	noDemo := fs.Bool("no-demo", false, "do not load the demo network into an empty database")
	reload := fs.Duration("reload", time.Minute, "how often to re-read the directory from the database (imports by other processes)")
	dev := fs.Bool("dev", envBool("LOKERO_DEV"), "development aids, for an operator's credential only: GET /dev/outbox (queued messages, opening codes in clear) and POST /v1/admin/clock (a test clock that survives restarts); never in production (env LOKERO_DEV=1)")
	production := fs.Bool("production", os.Getenv("LOKERO_ENV") == "production", "refuse to start with --dev, a code secret made on the fly, database or secret files others may read, or without TLS (--tls-cert/--tls-key) or --behind-proxy (env LOKERO_ENV=production)")
	tlsCert := fs.String("tls-cert", envOr("LOKERO_TLS_CERT", ""), "serve HTTPS with this certificate (PEM; with --tls-key) (env LOKERO_TLS_CERT)")
	tlsKey := fs.String("tls-key", envOr("LOKERO_TLS_KEY", ""), "the private key of --tls-cert (PEM) (env LOKERO_TLS_KEY)")
	behindProxy := fs.Bool("behind-proxy", envBool("LOKERO_BEHIND_PROXY"), "a reverse proxy in front terminates TLS (for --production without --tls-cert); the session cookie is then always Secure (env LOKERO_BEHIND_PROXY=1)")
	trustedProxy := fs.String("trusted-proxy", envOr("LOKERO_TRUSTED_PROXY", ""), "CIDR,... of the proxies whose X-Forwarded-For / Forwarded headers are believed (a bare IP is one address) (env LOKERO_TRUSTED_PROXY)")
	secretFile := fs.String("code-secret-file", envOr("LOKERO_CODE_SECRET_FILE", ""), "file with the secret opening codes are hashed with (hex keys, ≥ 32 bytes; see lokero secret); default: LOKERO_CODE_SECRET, or for SQLite a file beside the database, made on the first start of a new database")
	cutoff := fs.String("cutoff", envOr("LOKERO_CUTOFF", "16:00"), "daily handover cut-off, Europe/Helsinki: parcels handed over later count from the next weekday (env LOKERO_CUTOFF)")
	margin := fs.Float64("capacity-margin", service.DefaultMargin, "standard deviations of the parcels expected to be still in a locker on a delivery day that booking counts on top of them: higher turns more away at booking and fewer at the door (0–4; docs/capacity.md)")
	dispatchAt := fs.String("dispatch-check", envOr("LOKERO_DISPATCH_CHECK", "20:00"), "when, Europe/Helsinki, to check the next delivery day's bookings each evening against what the lockers hold then and move the excess to the nearest locker with room before the couriers load (after --cutoff); off: no check, the door decides (env LOKERO_DISPATCH_CHECK; docs/capacity.md)")
	busyBelow := fs.String("busy-below", envOr("LOKERO_BUSY_BELOW", "15%"), "a locker (or size class) shows as busy at checkout below this share of free compartments, e.g. 15% or 0.15 (env LOKERO_BUSY_BELOW)")
	retailerShare := fs.String("retailer-share", envOr("LOKERO_RETAILER_SHARE", "25%"), "the share of a locker's compartments of a size one retailer may book for one delivery day (at least 2), e.g. 25% or 1 for no cap (env LOKERO_RETAILER_SHARE)")
	metricsToken := fs.String("metrics-token", envOr("LOKERO_METRICS_TOKEN", ""), "serve /metrics only to a scraper sending Authorization: Bearer with this token (Prometheus: authorization credentials); default: /metrics is public, for a firewall or proxy to guard (env LOKERO_METRICS_TOKEN, which keeps it out of the process list)")
	rateLimit := fs.String("rate-limit", envOr("LOKERO_RATE_LIMIT", ""), "change API rate limits: CLASS=RATE/PERIOD:BURST,... with CLASS retailer, courier, device, operator, clerk, tracking, returns, directory or authentication (failed authentications per address), e.g. retailer=50/s:200,tracking=off (env LOKERO_RATE_LIMIT); see docs/security.md for the defaults")
	var notices senderFlags
	fs.StringVar(&notices.smtp, "smtp", envOr("LOKERO_SMTP", ""), "send e-mail notices through this SMTP server: smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=required to insist), smtps://… for implicit TLS; none: e-mail notices stay in the local outbox (env LOKERO_SMTP)")
	fs.StringVar(&notices.mailFrom, "mail-from", envOr("LOKERO_MAIL_FROM", "lokero <noreply@localhost>"), "the From of e-mail notices (env LOKERO_MAIL_FROM)")
	fs.StringVar(&notices.sms, "sms", envOr("LOKERO_SMS", ""), "send SMS notices through Kannel's smsbox: kannel://user:pass@host:13013 (?from=SENDER, ?smsc=ID); its delivery reports come back to --public-url; none: SMS notices stay in the local outbox (env LOKERO_SMS)")
	allowPrivate := fs.Bool("allow-private-endpoints", envBool("LOKERO_ALLOW_PRIVATE_ENDPOINTS"), "let webhooks and push subscriptions use http and loopback or private addresses (a retailer's test endpoint on this machine); on with --dev; refused by --production (env LOKERO_ALLOW_PRIVATE_ENDPOINTS=1)")
	mqttURL := fs.String("mqtt", envOr("LOKERO_MQTT", ""), "connect to this MQTT broker for the lockers' device protocol instead of running one: tcp://user:pass@host:1883 or tls://… (the centre's user at the broker; see docs/device-protocol.md) (env LOKERO_MQTT)")
	mqttListen := fs.String("mqtt-listen", envOr("LOKERO_MQTT_LISTEN", "127.0.0.1:1883"), "where the embedded MQTT broker listens for the lockers' controllers, when --mqtt is not given; off: no MQTT, the HTTP device endpoints only (env LOKERO_MQTT_LISTEN)")
	publicURL := fs.String("public-url", envOr("LOKERO_PUBLIC_URL", ""), "lokero's URL as recipients' browsers and the SMS gateway reach it, for the tracking links in notices and Kannel's delivery reports (default: http(s)://the listen address) (env LOKERO_PUBLIC_URL)")
	tileURL := fs.String("map-tiles", envOr("LOKERO_MAP_TILES", ""), "the operator's own raster tile server for the pages' maps, an XYZ template such as https://tiles.example.fi/{z}/{x}/{y}.png; default: none, the bundled outline of Finland (env LOKERO_MAP_TILES)")
	tileAttribution := fs.String("map-attribution", envOr("LOKERO_MAP_ATTRIBUTION", ""), "the attribution the tiles' licence asks for, shown under the maps, e.g. \"© OpenStreetMap contributors\" (env LOKERO_MAP_ATTRIBUTION)")
	tileMaxZoom := fs.Int("map-max-zoom", 19, "the tile server's deepest zoom level (0–22)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var tiles *api.MapTiles
	tileOrigin := ""
	if *tileURL != "" {
		var err error
		if tiles, tileOrigin, err = api.ParseMapTiles(*tileURL, *tileAttribution, *tileMaxZoom, *dev); err != nil {
			return err
		}
	}
	retailerCap, err := parseShare(*retailerShare, true)
	if err != nil {
		return fmt.Errorf("%w: --retailer-share must be a share above 0 and at most 100%% (e.g. 25%%); got %q", errUsage, *retailerShare)
	}
	limits, err := parseRateLimits(*rateLimit)
	if err != nil {
		return fmt.Errorf("%w: --rate-limit: %v", errUsage, err)
	}
	busyShare, err := parseShare(*busyBelow, false)
	if err != nil {
		return fmt.Errorf("%w: --busy-below must be a share between 0 and 100%% (e.g. 15%%); got %q", errUsage, *busyBelow)
	}
	if *reload <= 0 {
		return fmt.Errorf("%w: --reload must be a positive duration (e.g. 1m); got %s", errUsage, *reload)
	}
	if !(*margin >= 0 && *margin <= 4) {
		return fmt.Errorf("%w: --capacity-margin must be 0 to 4 standard deviations; got %v", errUsage, *margin)
	}
	cutoffTime, err := time.Parse("15:04", *cutoff)
	if err != nil {
		return fmt.Errorf("%w: --cutoff must be HH:MM (e.g. 16:00); got %q", errUsage, *cutoff)
	}
	checkAt, err := parseDispatchCheck(*dispatchAt)
	if err != nil {
		return fmt.Errorf("%w: --dispatch-check: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, fs.Args())
	}
	proxies, err := parseProxies(*trustedProxy)
	if err != nil {
		return fmt.Errorf("%w: --trusted-proxy: %v", errUsage, err)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if *publicURL != "" {
		if err := checkPublicURL(*publicURL); err != nil {
			return err
		}
	}
	// The providers are built now, so that a bad URL stops serve before
	// anything starts; their delivery reports are signed by the API server
	// made later (reportURL).
	var reportURL func(messageID int64) string
	senders, err := newSenders(notices, func(id int64) string { return reportURL(id) })
	if err != nil {
		return err
	}
	if *production {
		if *dev {
			return errors.New("--production refuses --dev (or LOKERO_DEV): the development outbox shows opening codes and the test clock can expire every parcel")
		}
		if tlsConfig == nil && !*behindProxy {
			return errors.New("--production needs TLS: serve HTTPS with --tls-cert FILE --tls-key FILE, or say that a reverse proxy in front terminates it with --behind-proxy")
		}
		if *allowPrivate {
			return errors.New("--production refuses --allow-private-endpoints: webhooks to loopback and private addresses reach what the internet must not")
		}
		if len(senders) == 0 {
			return errors.New("--production needs a real channel for the notices of arrival: --smtp smtp://user:pass@host:587 (e-mail) or --sms kannel://user:pass@host:13013 (SMS); without one they would only reach the local outbox")
		}
	}
	if err := checkSecretGiven(*db, *secretFile); err != nil {
		return err
	}
	log := newLogger(stderr)
	if err := checkDatabaseFiles(*db, *production, log); err != nil {
		return err
	}
	var (
		clk         = clock()
		devClockVal *lokero.DevClock
	)
	if *dev {
		devClockVal = lokero.NewDevClock(clk)
		clk = devClockVal
		log.Warn("development aids on (--dev): GET /dev/outbox and POST /v1/admin/clock for operators; never in production")
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Every return closes it, before serving or after (a listener the
	// server closed already closes again harmlessly).
	defer ln.Close()
	p, err := openPlatform(ctx, *db, calendar.New(cutoffTime.Hour(), cutoffTime.Minute()), clk, log)
	if err != nil {
		return err
	}
	defer p.Close()
	codes, keys, _, err := loadSecret(ctx, p.store, *db, *secretFile, secretOptions{production: *production, mayCreate: true}, log)
	if err != nil {
		return err
	}
	if devClockVal != nil {
		if err := resumeDevClock(ctx, p.store, devClockVal, log); err != nil {
			return err
		}
	}
	if err := p.dir.Availability().SetMargin(*margin); err != nil {
		return err
	}
	if err := p.dir.Availability().SetBusyBelow(busyShare); err != nil {
		return fmt.Errorf("%w: --busy-below: %v", errUsage, err)
	}
	p.lockers = service.NewLockers(p.store, p.dir, p.calendar, p.clock, nil, codes, log)
	if err := p.shipments.SetRetailerShare(retailerCap); err != nil {
		return fmt.Errorf("%w: --retailer-share: %v", errUsage, err)
	}
	dir, srv := p.dir, p.handler(log)
	srv.SetTrustedProxies(proxies)
	srv.SetMetricsToken(*metricsToken)
	if *metricsToken == "" && *production {
		log.Warn("/metrics is public: give --metrics-token (env LOKERO_METRICS_TOKEN), or guard it at the proxy or firewall")
	}
	srv.SetRateLimits(limits)
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	// Delivery is set up before the jobs start: the first job may run at
	// once, and reads the senders, the report keys and the API's locker
	// service.
	if *publicURL == "" {
		*publicURL = defaultPublicURL(ln.Addr().String(), tlsConfig != nil)
	}
	p.lockers.SetPublicURL(*publicURL)
	// Browsers reach the platform over HTTPS when it serves TLS itself, a
	// proxy in front terminates it, or the public URL says so: the
	// session's cookie is Secure then, whether or not the proxy sends
	// X-Forwarded-Proto.
	if u, err := url.Parse(*publicURL); tlsConfig != nil || *behindProxy || err == nil && strings.EqualFold(u.Scheme, "https") {
		srv.SetSecureCookies(true)
	}
	p.lockers.SetReportKeys(reportKeys(keys)...)
	private := *allowPrivate || *dev
	pushKeys, err := pushKeys(ctx, p.store, codes)
	if err != nil {
		return err
	}
	// Push needs no provider of the operator's: each subscription names its
	// push service (the browser's vendor's). The subscriber chose that
	// endpoint: unless private ones are allowed, it is not connected to on
	// an internal address, whatever its name resolves to.
	senders[notify.ChannelPush] = webpush.New(pushKeys, pushSubject(notices.mailFrom, *publicURL), pushClient(private))
	p.lockers.SetSenders(senders)
	qr, err := qrKey(ctx, p.store, codes)
	if err != nil {
		return err
	}
	p.lockers.SetQRKey(qr)
	// A device credential revoked or rotated through the API drops its
	// locker from the embedded broker at once (the sweep below does it
	// within sweepEvery for other ways of revoking).
	sweepNow := make(chan struct{}, 1)
	srv.EnableLockers(p.lockers, api.LockerOptions{DevOutbox: *dev, DevClock: devClockVal,
		Push: api.PushOptions{PublicKey: pushKeys.PublicKey(), AllowInsecure: private},
		CredentialChanged: func(c lokero.Credential) {
			if c.Kind == lokero.KindDevice {
				select {
				case sweepNow <- struct{}{}:
				default:
				}
			}
		}})
	if err := srv.EnableSessions(codes.SubKey("web-session")); err != nil {
		return err
	}
	if *dev && loopback(ln.Addr()) {
		srv.EnableDemoSignIn(p.demoLockers().operator) // POST /demo/session
	}
	dispatch := service.NewDispatch(p.shipments)
	srv.EnableDispatch(dispatch)
	p.webhooks.SetPoster(newWebhookPoster(private))
	p.webhooks.SealSecrets(codes)
	if n, err := p.webhooks.Reseal(ctx); err != nil {
		log.Error("webhook secrets: some do not open with this secret; their deliveries wait", "err", err)
	} else if n > 0 {
		log.Info("webhook secrets sealed under the newest key of the code secret", "webhooks", n, "generation", codes.Generations()[0])
	}
	srv.EnableWebhooks(p.webhooks)
	reportURL = srv.SMSReportURL(*publicURL)
	if channels := notices.channels(); channels != "" {
		log.Info("notifications", "channels", channels, "public_url", *publicURL)
	} else {
		log.Warn("notifications: no provider (--smtp, --sms): notices stay in the local outbox, for an operator at GET /dev/outbox with --dev")
	}
	runner, err := p.startJobs(ctx, *db, log)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := runner.Stop(stopCtx); err != nil {
			log.Error("stop jobs", "err", err)
		}
	}()
	devs, err := startDevices(ctx, p.lockers, *mqttURL, *mqttListen, log)
	if err != nil {
		return err
	}
	defer devs.Close()
	if devs.centre != nil {
		srv.SetLockerCommands(devs.centre)
		if err := srv.RegisterMetrics(device.Collector(devs.centre, devs.broker)); err != nil {
			return fmt.Errorf("device metrics: %w", err)
		}
	}
	if grouped, ok := p.store.(interface {
		GroupStats() (writes, commits int64)
	}); ok && p.store.Dialect().GroupsWrites() {
		for _, c := range groupCommitMetrics(grouped.GroupStats) {
			if err := srv.RegisterMetrics(c); err != nil {
				return fmt.Errorf("store metrics: %w", err)
			}
		}
	}
	// The pages (web) beside the API: their own routes, the API's for
	// everything else.
	pages, err := web.New(log)
	if err != nil {
		return err
	}
	if tiles != nil {
		srv.SetMapTiles(tiles) // GET /v1/map
		pages.AllowImagesFrom(tileOrigin)
	}
	if *dev && loopback(ln.Addr()) {
		pages.EnableDemoLockers(p.demoLockers()) // /demo/lockers/{id}, /demo/orders
	}
	root := http.NewServeMux()
	pages.Register(root)
	root.Handle("/", srv)
	httpServer := &http.Server{
		Handler:           root,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	if tlsConfig != nil {
		go func() { serveErr <- httpServer.ServeTLS(ln, "", "") }()
	} else {
		go func() { serveErr <- httpServer.Serve(ln) }()
	}
	log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "db", redactDSN(*db), "production", *production)

	// Health answers 503 until the directory is loaded (by loadDemo, which
	// fills an empty database first, or by Reload with --no-demo).
	if *noDemo {
		err = dir.Reload(ctx)
	} else {
		var n int
		if n, err = p.loadDemo(ctx); err == nil && n > 0 {
			log.Info("loaded the demo network into an empty database", "locations", n)
		}
	}
	if err != nil {
		httpServer.Close()
		return err
	}
	srv.SetReady(true)
	log.Info("ready", "locations", dir.Snapshot().Len(), "postcodes", dir.Postcodes().Len(), "url", scheme+"://"+ln.Addr().String()+"/v1/locations?postcode=00100")
	// Parcels left at points closed while no instance re-routed them (a
	// crash between the change and its re-routing): moved now, in the
	// background; each shipment in its own transaction, so stopping halfway
	// loses nothing.
	go func() {
		if err := p.rerouteClosed(ctx, log); err != nil && ctx.Err() == nil {
			log.Error("at start", "err", err)
		}
	}()

	ticker := time.NewTicker(*reload)
	defer ticker.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	// The clock-driven work below looks at the service's clock every
	// minute; under --dev, whose test clock jumps, every second.
	lookEvery := time.Minute
	if *dev {
		lookEvery = time.Second
	}
	// Every hour of the service's clock: the dashboard's occupancy sample
	// (taken by whichever instance comes first), the dwell the capacity
	// model learns from the network's pickups (by every instance, from the
	// one database), and the verifiers past service.KeepVerifiers
	// forgotten.
	sampled := time.Time{}
	sampleOccupancy := func() {
		if hour := p.lockers.Now().Truncate(service.SampleEvery); !hour.Equal(sampled) {
			if _, err := p.lockers.SampleOccupancy(ctx); err != nil {
				if ctx.Err() == nil {
					log.Error("occupancy sample", "err", err)
				}
				return
			}
			if outcomes, err := p.dir.Availability().LearnDwell(ctx); err != nil {
				if ctx.Err() == nil {
					log.Error("learn the dwell", "err", err)
				}
			} else {
				for typ, o := range outcomes {
					log.Info("dwell learnt", "type", typ, "departures", o.Total(), "mean_days", fmt.Sprintf("%.2f", p.dir.Availability().Dwell(typ).MeanDays()))
				}
			}
			if n, err := p.lockers.PruneVerifiers(ctx); err != nil {
				if ctx.Err() == nil {
					log.Error("prune verifiers", "err", err)
				}
			} else if n > 0 {
				log.Info("verifiers forgotten", "count", n, "older_than", service.KeepVerifiers.String())
			}
			sampled = hour
		}
	}
	sampleOccupancy()
	sample := time.NewTicker(lookEvery)
	defer sample.Stop()
	// Every evening at --dispatch-check (the service's clock): the next
	// delivery day's bookings against what the lockers hold then
	// (service.Dispatch). Once a day per instance; the check itself is
	// idempotent, so another instance's, or a restart's, moves nothing
	// twice. Under --dev the test clock jumps: looked at every second.
	checked := lokero.Date{}
	dispatchCheck := func() {
		if checkAt < 0 {
			return
		}
		now := p.lockers.Now().In(lokero.Helsinki)
		today := lokero.DateOf(now)
		if !today.After(checked) || now.Hour()*60+now.Minute() < checkAt {
			return
		}
		res, err := dispatch.Check(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("dispatch check", "err", err) // again at the next tick
			}
			return
		}
		checked = today
		log.Info("dispatch check", "on", today.String(), "date", res.Date.String(), "lockers", res.Lockers, "over", res.Over,
			"rerouted", len(res.Rerouted), "no_room", len(res.NoRoom), "moved_back", len(res.MovedBack))
	}
	dispatchTick := time.NewTicker(lookEvery)
	defer dispatchTick.Stop()
	for {
		select {
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case <-sample.C:
			sampleOccupancy()
		case <-dispatchTick.C:
			dispatchCheck()
		case <-sweep.C:
			devs.sweep(ctx, p.lockers)
		case <-sweepNow:
			devs.sweep(ctx, p.lockers)
		case <-ticker.C:
			if err := p.reloadDirectory(ctx, log); err != nil && ctx.Err() == nil {
				log.Error("reload directory", "err", err)
			}
		case <-ctx.Done():
			log.Info("shutting down")
			srv.SetReady(false)
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("shutdown: %w", err)
			}
			log.Info("stopped")
			return nil
		}
	}
}

// parseDispatchCheck reads --dispatch-check: a time of day HH:MM
// (Europe/Helsinki), as minutes after midnight, or off (-1).
func parseDispatchCheck(s string) (int, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return -1, nil
	}
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want a time of day HH:MM (e.g. 20:00) or off; got %q", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// reportKeys are the secrets that sign the SMS gateway's delivery-report
// URLs: the opening-code secret's keys, newest first (the service derives
// its own keys from them), so that every instance signs alike and a report
// signed before a rotation still counts.
func reportKeys(keys []locker.Key) [][]byte {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b locker.Key) int { return b.Generation - a.Generation })
	out := make([][]byte, len(sorted))
	for i, k := range sorted {
		out[i] = k.Secret
	}
	return out
}

// redactDSN hides a password in a database URL (in its user part or as a
// password parameter) before it is logged.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// parseRateLimits reads --rate-limit: CLASS=LIMIT pairs, comma-separated,
// each LIMIT as api.ParseLimit reads it, over api.DefaultRateLimits.
func parseRateLimits(s string) (api.RateLimits, error) {
	limits := api.DefaultRateLimits()
	fields := map[string]*api.Limit{
		"retailer": &limits.Retailer, "courier": &limits.Courier, "device": &limits.Device,
		"operator": &limits.Operator, "clerk": &limits.Clerk, "tracking": &limits.Tracking, "returns": &limits.Returns,
		"directory": &limits.Directory, "authentication": &limits.Authentication,
	}
	if strings.TrimSpace(s) == "" {
		return limits, nil
	}
	for _, pair := range strings.Split(s, ",") {
		class, spec, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return limits, fmt.Errorf("%q is not CLASS=LIMIT (e.g. retailer=50/s:200)", pair)
		}
		field, ok := fields[class]
		if !ok {
			return limits, fmt.Errorf("unknown class %q: one of retailer, courier, device, operator, clerk, tracking, returns, directory, authentication", class)
		}
		l, err := api.ParseLimit(spec)
		if err != nil {
			return limits, err
		}
		*field = l
	}
	return limits, nil
}

// parseShare reads a share written as a percentage ("15%") or a fraction
// ("0.15"); it must lie strictly between 0 and 1, or be 1 ("100%") too
// when whole is true.
func parseShare(s string, whole bool) (float64, error) {
	s = strings.TrimSpace(s)
	div := 1.0
	if t, ok := strings.CutSuffix(s, "%"); ok {
		s, div = strings.TrimSpace(t), 100
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if v /= div; !(v > 0 && (v < 1 || whole && v == 1)) {
		return 0, fmt.Errorf("%v is not between 0 and 1", v)
	}
	return v, nil
}

// settingDevClock is the setting that holds the test clock's offset (a Go
// duration) under --dev.
const settingDevClock = "dev_clock_offset"

// resumeDevClock sets the test clock to the offset saved before, so that a
// restart does not send time back, and has each advance saved.
func resumeDevClock(ctx context.Context, st settingStore, c *lokero.DevClock, log *slog.Logger) error {
	saved, ok, err := st.Setting(ctx, settingDevClock)
	if err != nil {
		return fmt.Errorf("test clock: %w", err)
	}
	if ok {
		d, err := time.ParseDuration(saved)
		if err != nil || d < 0 {
			return fmt.Errorf("test clock: the saved offset %q is not a duration", saved)
		}
		c.Resume(d)
		log.Info("test clock resumed", "ahead", d.String(), "now", c.Now())
	}
	c.SetSaver(func(ctx context.Context, offset time.Duration) error {
		return st.SetSetting(ctx, settingDevClock, offset.String())
	})
	return nil
}

// parseProxies reads --trusted-proxy: comma-separated CIDR prefixes or
// bare addresses (one address: /32 or /128).
func parseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix or an IP address", v)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix or an IP address", v)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// checkDatabaseFiles takes the group's and others' rights away from a
// SQLite database's files (the database, -wal, -shm) with a warning; in
// production it refuses instead.
func checkDatabaseFiles(dsn string, production bool, log *slog.Logger) error {
	if isPostgres(dsn) {
		return nil
	}
	if production {
		exposed, err := sqlite.Exposed(dsn)
		if err != nil {
			return err
		}
		if len(exposed) > 0 {
			return fmt.Errorf("--production refuses database files others than their owner may read: %s; chmod 600 them", strings.Join(exposed, ", "))
		}
		return nil
	}
	tightened, err := sqlite.Tighten(dsn)
	for _, f := range tightened {
		log.Warn("a database file was readable by others than its owner: made it owner-only", "file", f)
	}
	return err
}

// groupCommitMetrics exports the store's group commit (SQLite): the write
// transactions committed and the commits they took; the two counts are
// equal when no writes overlap.
func groupCommitMetrics(stats func() (writes, commits int64)) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lokero_store_writes_total",
			Help: "Write transactions the store committed (SQLite: in groups, see lokero_store_commits_total).",
		}, func() float64 { w, _ := stats(); return float64(w) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lokero_store_commits_total",
			Help: "Commits of the store's database that committed those write transactions (SQLite groups the writes that overlap).",
		}, func() float64 { _, c := stats(); return float64(c) }),
	}
}
