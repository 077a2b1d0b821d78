package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dnadb/dnadb"
)

// metrics is the server's Prometheus registry, its own rather than the global one.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dnadb_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dnadb_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dnadb_index_size",
			Help: "PDQ hashes of confirmed items in the match index.",
		}, func() float64 { return float64(s.matcher.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dnadb_changelog_applied_seq",
			Help: "Sequence number of the last change the match index reflects.",
		}, func() float64 { return float64(s.matcher.Seq()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dnadb_changelog_lag",
			Help: "Changes committed but not yet in the match index (counted up to 1000).",
		}, func() float64 { return float64(s.lag()) }),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// observe counts one finished request.
func (m *metrics) observe(route string, code int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(elapsed.Seconds())
}

// lag counts the changes after the one the match index reflects, or -1 if the
// store cannot be read.
func (s *Server) lag() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	changes, err := s.raw.Changes(ctx, s.matcher.Seq(), dnadb.MaxPageSize)
	if err != nil {
		return -1
	}
	return len(changes)
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}
