package server

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/web"
)

// Config configures the HTTP server.
type Config struct {
	// Listen is the address to listen on, such as ":8080".
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey are PEM files; when both are set the server
	// speaks HTTPS only.
	TLSCert string `yaml:"tls-cert"`
	TLSKey  string `yaml:"tls-key"`
	// MaxBody bounds JSON request bodies; MaxIngestBody bounds audit-log
	// bodies posted to the ingest endpoint.
	MaxBody       int64 `yaml:"max-body"`
	MaxIngestBody int64 `yaml:"max-ingest-body"`
}

// DefaultConfig returns the defaults: port 8080, 1 MiB JSON bodies and
// 64 MiB ingest bodies (Event Hub batches are at most 1 MiB, storage blobs
// of an hour of Activity Log rarely reach tens of MiB).
func DefaultConfig() Config {
	return Config{Listen: ":8080", MaxBody: 1 << 20, MaxIngestBody: 64 << 20}
}

// Server serves the API, the metrics and the UI.
type Server struct {
	cfg      Config
	backend  Backend
	logger   *slog.Logger
	gatherer prometheus.Gatherer
	mux      *http.ServeMux
	http     *http.Server
	ln       net.Listener

	requests *prometheus.CounterVec
	// patterns are the registered routes, for Routes.
	patterns []string
}

// Deps are the server's collaborators.
type Deps struct {
	Backend  Backend
	Logger   *slog.Logger
	Registry *prometheus.Registry
}

// New builds a server; Start listens.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Backend == nil {
		return nil, errors.New("server: no backend")
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("server: tls-cert and tls-key go together")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultConfig().MaxBody
	}
	if cfg.MaxIngestBody <= 0 {
		cfg.MaxIngestBody = DefaultConfig().MaxIngestBody
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, backend: deps.Backend, logger: logger.With("component", "server"), gatherer: reg, mux: http.NewServeMux()}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_http_requests_total",
		Help: "HTTP API requests by route pattern and status code.",
	}, []string{"route", "code"})
	if err := reg.Register(s.requests); err != nil {
		return nil, fmt.Errorf("server: register metrics: %w", err)
	}
	s.routes()
	return s, nil
}

// Routes lists the API's routes as "METHOD /path/{param}" (the UI's
// catch-all is not among them); a test checks them against the OpenAPI
// document.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// Handler returns the root handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: load certificate: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, s.http.TLSConfig)
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("serve", "err", err)
		}
	}()
	return nil
}

// Addr returns the listening address once started.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Stop shuts the server down gracefully.
func (s *Server) Stop(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	return s.http.Shutdown(ctx)
}

// OpenAPI is the API description, served at /api/v1/openapi.yaml and
// checked against the handlers by the tests.
//
//go:embed openapi.yaml
var OpenAPI []byte

type ctxKey struct{}

func callerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(ctxKey{}).(Caller)
	return c
}

// handle registers an authenticated route. roles lists who may call it.
func (s *Server) handle(pattern string, h func(http.ResponseWriter, *http.Request) error, roles ...string) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, s.instrument(pattern, func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			return httpError{http.StatusUnauthorized, "a bearer token is required"}
		}
		c, err := s.backend.Authenticate(r.Context(), tok)
		if err != nil {
			if errors.Is(err, ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vigil", error="invalid_token"`)
				return httpError{http.StatusUnauthorized, "the token is not valid"}
			}
			return err
		}
		if !slices.Contains(roles, c.Role) {
			return httpError{http.StatusForbidden, "the token's role may not do this"}
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	}))
}

func (s *Server) instrument(pattern string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		w.Header().Set("Cache-Control", "no-store")
		if err := h(rw, r); err != nil {
			s.writeError(rw, r, err)
		}
		s.requests.WithLabelValues(pattern, strconv.Itoa(rw.code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

type httpError struct {
	code int
	msg  string
}

func (e httpError) Error() string { return e.msg }

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &mbe):
		he = httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", mbe.Limit)}
	case errors.Is(err, ErrNotFound):
		he = httpError{http.StatusNotFound, "not found"}
	case errors.Is(err, ErrInvalid):
		he = httpError{http.StatusBadRequest, err.Error()}
	default:
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		he = httpError{http.StatusInternalServerError, "internal error"}
	}
	writeJSON(w, he.code, map[string]string{"error": he.msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

// decodeBody reads a size-limited JSON body strictly.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return httpError{http.StatusBadRequest, "malformed JSON body: " + err.Error()}
	}
	if dec.More() {
		return httpError{http.StatusBadRequest, "malformed JSON body: trailing data"}
	}
	return nil
}

var (
	readers  = []string{RoleAdmin, RoleAnalyst, RoleReader}
	writers  = []string{RoleAdmin, RoleAnalyst}
	admins   = []string{RoleAdmin}
	ingester = []string{RoleAdmin, RoleIngest}
)

func (s *Server) routes() {
	s.patterns = append(s.patterns, "GET /healthz", "GET /api/v1/openapi.yaml")
	s.mux.Handle("GET /healthz", s.instrument("GET /healthz", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	}))
	metrics := promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
	s.handle("GET /metrics", func(w http.ResponseWriter, r *http.Request) error {
		metrics.ServeHTTP(w, r)
		return nil
	}, readers...)
	s.handle("GET /api/v1/me", s.getMe, RoleAdmin, RoleAnalyst, RoleReader, RoleIngest)
	s.handle("GET /api/v1/alerts", s.listAlerts, readers...)
	s.handle("GET /api/v1/alerts/{id}", s.getAlert, readers...)
	s.handle("PATCH /api/v1/alerts/{id}", s.patchAlert, writers...)
	s.handle("GET /api/v1/detections", s.getDetections, readers...)
	s.handle("GET /api/v1/subscriptions", s.getSubscriptions, readers...)
	s.handle("GET /api/v1/subscriptions/{sub}/settings", s.getSettings, readers...)
	s.handle("PUT /api/v1/subscriptions/{sub}/settings", s.putSettings, admins...)
	s.handle("GET /api/v1/suppressions", s.listSuppressions, readers...)
	s.handle("POST /api/v1/suppressions", s.createSuppression, admins...)
	s.handle("GET /api/v1/suppressions/{id}", s.getSuppression, readers...)
	s.handle("PUT /api/v1/suppressions/{id}", s.updateSuppression, admins...)
	s.handle("DELETE /api/v1/suppressions/{id}", s.deleteSuppression, admins...)
	s.handle("GET /api/v1/ingest", s.getIngest, readers...)
	s.handle("POST /api/v1/ingest/audit", s.postAudit, ingester...)
	s.mux.Handle("GET /api/v1/openapi.yaml", s.instrument("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/yaml")
		_, err := w.Write(OpenAPI)
		return err
	}))
	s.mux.Handle("GET /", web.Handler())
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, callerFrom(r.Context()))
	return nil
}

func parseTime(q, name string) (time.Time, error) {
	if q == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, q)
	if err != nil {
		return time.Time{}, httpError{http.StatusBadRequest, name + " must be an RFC 3339 time"}
	}
	return t, nil
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	c := callerFrom(r.Context())
	v := r.URL.Query()
	q := AlertQuery{
		Layer: v.Get("layer"), Severity: v.Get("severity"), Status: v.Get("status"),
		Resource: v.Get("resource"), Principal: v.Get("principal"), Subscription: v.Get("subscription"),
		Cursor: v.Get("cursor"), Limit: 50,
	}
	if t := v.Get("type"); t != "" {
		q.Types = strings.Split(t, ",")
		for _, typ := range q.Types {
			if _, ok := alert.Lookup(typ); !ok {
				return httpError{http.StatusBadRequest, "unknown alert type " + strconv.Quote(typ)}
			}
		}
	}
	if q.Layer != "" && q.Layer != alert.LayerNetwork && q.Layer != alert.LayerManagement {
		return httpError{http.StatusBadRequest, "layer must be network or management"}
	}
	if q.Severity != "" && !slices.Contains([]string{alert.SeverityLow, alert.SeverityMedium, alert.SeverityHigh}, q.Severity) {
		return httpError{http.StatusBadRequest, "severity must be low, medium or high"}
	}
	if q.Status != "" && !validStatus(q.Status) {
		return httpError{http.StatusBadRequest, "status must be active, dismissed or resolved"}
	}
	var err error
	if q.From, err = parseTime(v.Get("from"), "from"); err != nil {
		return err
	}
	if q.To, err = parseTime(v.Get("to"), "to"); err != nil {
		return err
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return httpError{http.StatusBadRequest, "limit must be between 1 and 500"}
		}
		q.Limit = n
	}
	if !c.AllSubscriptions() {
		if q.Subscription != "" && !c.Sees(q.Subscription) {
			// Asking for another subscription gives an empty page, not an
			// error, so that the answer does not reveal whether it exists.
			writeJSON(w, http.StatusOK, AlertPage{Alerts: []AlertRecord{}})
			return nil
		}
		q.Subscriptions = c.Subscriptions
	}
	page, err := s.backend.ListAlerts(r.Context(), q)
	if err != nil {
		return err
	}
	if page.Alerts == nil {
		page.Alerts = []AlertRecord{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func validStatus(s string) bool {
	return s == alert.StatusActive || s == alert.StatusDismissed || s == alert.StatusResolved
}

// visibleAlert loads an alert and hides it (404) from callers of other
// subscriptions.
func (s *Server) visibleAlert(r *http.Request) (AlertRecord, error) {
	a, err := s.backend.GetAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		return AlertRecord{}, err
	}
	if !callerFrom(r.Context()).Sees(a.Subscription) {
		return AlertRecord{}, ErrNotFound
	}
	return a, nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := s.visibleAlert(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

type statusPatch struct {
	Status  string `json:"status"`
	Comment string `json:"comment"`
}

func (s *Server) patchAlert(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.visibleAlert(r); err != nil {
		return err
	}
	var p statusPatch
	if err := s.decodeBody(w, r, &p); err != nil {
		return err
	}
	if !validStatus(p.Status) {
		return httpError{http.StatusBadRequest, "status must be active, dismissed or resolved"}
	}
	if len(p.Comment) > 4096 {
		return httpError{http.StatusBadRequest, "comment is longer than 4096 characters"}
	}
	c := callerFrom(r.Context())
	a, err := s.backend.SetAlertStatus(r.Context(), r.PathValue("id"), p.Status, p.Comment, actorName(c))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func actorName(c Caller) string {
	if c.Name != "" {
		return c.Name + " (" + c.TokenID + ")"
	}
	return c.TokenID
}

func (s *Server) getDetections(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"detections": alert.Catalog()})
	return nil
}

func (s *Server) getSubscriptions(w http.ResponseWriter, r *http.Request) error {
	c := callerFrom(r.Context())
	all, err := s.backend.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	out := []string{}
	for _, sub := range all {
		if c.Sees(sub) {
			out = append(out, sub)
		}
	}
	if !c.AllSubscriptions() {
		// A scoped token also lists its own subscriptions before any data
		// has arrived for them, so their settings can be reviewed.
		for _, sub := range c.Subscriptions {
			if !slices.Contains(out, sub) {
				out = append(out, sub)
			}
		}
	}
	slices.Sort(out)
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": out})
	return nil
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	sub := r.PathValue("sub")
	if !callerFrom(r.Context()).Sees(sub) {
		return ErrNotFound
	}
	st, err := s.backend.Settings(r.Context(), sub)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) error {
	sub := r.PathValue("sub")
	if !callerFrom(r.Context()).Sees(sub) {
		return ErrNotFound
	}
	var st Settings
	if err := s.decodeBody(w, r, &st); err != nil {
		return err
	}
	if st.Subscription != "" && st.Subscription != sub {
		return httpError{http.StatusBadRequest, "subscription in the body differs from the path"}
	}
	st.Subscription = sub
	for typ := range st.Detections {
		if _, ok := alert.Lookup(typ); !ok {
			return httpError{http.StatusBadRequest, "unknown detection " + strconv.Quote(typ)}
		}
	}
	if err := s.backend.PutSettings(r.Context(), st); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) listSuppressions(w http.ResponseWriter, r *http.Request) error {
	c := callerFrom(r.Context())
	all, err := s.backend.Suppressions(r.Context())
	if err != nil {
		return err
	}
	out := []Suppression{}
	for _, sp := range all {
		if suppressionVisible(c, sp) {
			out = append(out, sp)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"suppressions": out})
	return nil
}

// A rule scoped to a subscription is visible to that subscription's
// callers; a global rule only to callers who see everything.
func suppressionVisible(c Caller, sp Suppression) bool { return c.Sees(sp.Subscription) }

func (s *Server) findSuppression(r *http.Request) (Suppression, error) {
	all, err := s.backend.Suppressions(r.Context())
	if err != nil {
		return Suppression{}, err
	}
	id := r.PathValue("id")
	for _, sp := range all {
		if sp.ID == id && suppressionVisible(callerFrom(r.Context()), sp) {
			return sp, nil
		}
	}
	return Suppression{}, ErrNotFound
}

func (s *Server) getSuppression(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.findSuppression(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sp)
	return nil
}

func validateSuppression(sp *Suppression) error {
	if sp.Type != "" {
		if _, ok := alert.Lookup(sp.Type); !ok {
			return httpError{http.StatusBadRequest, "unknown alert type " + strconv.Quote(sp.Type)}
		}
	}
	if sp.RemoteCIDR != "" {
		if _, err := parsePrefix(sp.RemoteCIDR); err != nil {
			return httpError{http.StatusBadRequest, "remote_cidr: " + err.Error()}
		}
	}
	if sp.Type == "" && sp.Subscription == "" && sp.Resource == "" && sp.Principal == "" && sp.RemoteCIDR == "" {
		return httpError{http.StatusBadRequest, "a suppression needs at least one condition"}
	}
	return nil
}

func (s *Server) createSuppression(w http.ResponseWriter, r *http.Request) error {
	var sp Suppression
	if err := s.decodeBody(w, r, &sp); err != nil {
		return err
	}
	if err := validateSuppression(&sp); err != nil {
		return err
	}
	sp.ID = ""
	sp.CreatedBy = actorName(callerFrom(r.Context()))
	out, err := s.backend.PutSuppression(r.Context(), sp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) updateSuppression(w http.ResponseWriter, r *http.Request) error {
	old, err := s.findSuppression(r)
	if err != nil {
		return err
	}
	var sp Suppression
	if err := s.decodeBody(w, r, &sp); err != nil {
		return err
	}
	if err := validateSuppression(&sp); err != nil {
		return err
	}
	sp.ID, sp.Created, sp.CreatedBy = old.ID, old.Created, old.CreatedBy
	out, err := s.backend.PutSuppression(r.Context(), sp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteSuppression(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.findSuppression(r)
	if err != nil {
		return err
	}
	if err := s.backend.DeleteSuppression(r.Context(), sp.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getIngest(w http.ResponseWriter, r *http.Request) error {
	h, err := s.backend.IngestHealth(r.Context())
	if err != nil {
		return err
	}
	if h.Sources == nil {
		h.Sources = []IngestSource{}
	}
	if h.Gaps == nil {
		h.Gaps = []IngestGap{}
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (s *Server) postAudit(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxIngestBody))
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return httpError{http.StatusBadRequest, "empty body"}
	}
	rec, err := s.backend.IngestAudit(r.Context(), body, r.Header.Get("Content-Encoding"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, rec)
	return nil
}
