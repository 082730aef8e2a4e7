package device

import (
	"context"
	"strings"
	"time"
)

// Identity is who a connected client is.
type Identity struct {
	// LocationID is a locker's location ID ("" for the centre).
	LocationID string
	// Centre is true for lokero serve itself: it may publish and
	// subscribe under Prefix, shared subscriptions
	// "$share/<group>/lokero/v1/lockers/..." included.
	Centre bool
	// CredentialID is the device credential a locker connected with, and
	// TokenIssuedAt when the token it connected with was made
	// (Credential.IssuedAt), for the sweep that drops lockers whose
	// credential was revoked or rotated since (Broker.Lockers).
	CredentialID  string
	TokenIssuedAt time.Time
}

// Authenticator checks the username and password a client connects with.
// For a locker the username is its location ID and the password its
// device token; an error (wrong or revoked token, unknown user) refuses
// the connection.
type Authenticator interface {
	AuthenticateClient(ctx context.Context, username, password string) (Identity, error)
}

// sharePrefix starts a shared subscription: "$share/<group>/<filter>".
const sharePrefix = "$share/"

// Allowed reports whether id may publish to topic (write) or subscribe
// to filter (!write). The same check applies when the broker delivers a
// message on a topic to a subscriber (!write, a topic name then).
//
// A locker (LocationID L, Centre false) may publish only to
// Topic(L, KindEvents) and Topic(L, KindStatus), and subscribe only to
// exactly Topic(L, KindCommands) and Topic(L, KindAcks), without
// wildcards. The centre (Centre true, LocationID "") may publish to any
// topic under Prefix and subscribe to any filter under Prefix, wildcards
// included, also as a shared subscription "$share/<group>/" + filter. An
// identity that is neither (or both) may do nothing.
func Allowed(id Identity, topicOrFilter string, write bool) bool {
	switch {
	case id.Centre && id.LocationID == "":
		return centreAllowed(topicOrFilter, write)
	case !id.Centre && validLocationID(id.LocationID):
		return lockerAllowed(id.LocationID, topicOrFilter, write)
	}
	return false
}

func lockerAllowed(locationID, topic string, write bool) bool {
	if write {
		return topic == Topic(locationID, KindEvents) || topic == Topic(locationID, KindStatus)
	}
	return topic == Topic(locationID, KindCommands) || topic == Topic(locationID, KindAcks)
}

func centreAllowed(topicOrFilter string, write bool) bool {
	f := topicOrFilter
	if !write {
		if rest, ok := strings.CutPrefix(f, sharePrefix); ok {
			group, filter, found := strings.Cut(rest, "/")
			if !found || group == "" || strings.ContainsAny(group, "+#") {
				return false
			}
			f = filter
		}
	}
	if !strings.HasPrefix(f, Prefix) || len(f) == len(Prefix) {
		return false
	}
	return validFilter(f, !write)
}

// validLocationID reports whether s can be a location ID in a topic (and
// so a username in Mosquitto's ACL patterns).
func validLocationID(s string) bool {
	return s != "" && !strings.ContainsAny(s, "+#/:\x00") && !strings.HasPrefix(s, "$")
}

// validFilter reports whether f is a well formed topic (wildcards false)
// or topic filter (wildcards true).
func validFilter(f string, wildcards bool) bool {
	if f == "" || strings.ContainsRune(f, 0) {
		return false
	}
	levels := strings.Split(f, "/")
	for i, level := range levels {
		if !strings.ContainsAny(level, "+#") {
			continue
		}
		if !wildcards {
			return false
		}
		switch level {
		case "+":
		case "#":
			if i != len(levels)-1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
