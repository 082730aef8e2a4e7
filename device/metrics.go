package device

import "github.com/prometheus/client_golang/prometheus"

var (
	eventsDesc = prometheus.NewDesc("lokero_device_events_total",
		"Events of the lockers' controllers taken over MQTT since start, by what the centre did: applied, duplicate (applied before), gap (an earlier one missing), rejected (applied as a refusal), failed (not applied: sent again), dropped (the locker's queue at the centre was full: sent again).",
		[]string{"result"}, nil)
	lockersDesc = prometheus.NewDesc("lokero_device_lockers_connected",
		"Lockers connected to the embedded MQTT broker now.", nil, nil)
)

// Collector returns the Prometheus collector of the device protocol's
// counts: the centre's events by result, and with the embedded broker
// (b not nil) the lockers connected.
func Collector(c *Centre, b *Broker) prometheus.Collector { return collector{c, b} }

type collector struct {
	centre *Centre
	broker *Broker
}

func (k collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- eventsDesc
	if k.broker != nil {
		ch <- lockersDesc
	}
}

func (k collector) Collect(ch chan<- prometheus.Metric) {
	s := k.centre.Stats()
	for _, r := range []struct {
		result string
		n      int64
	}{{"applied", s.Applied}, {"duplicate", s.Duplicates}, {"gap", s.Gaps}, {"rejected", s.Rejected}, {"failed", s.Failed}, {"dropped", s.Dropped}} {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(r.n), r.result)
	}
	if k.broker != nil {
		ch <- prometheus.MustNewConstMetric(lockersDesc, prometheus.GaugeValue, float64(len(k.broker.Lockers())))
	}
}
