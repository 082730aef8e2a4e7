package device

import "testing"

func TestAllowed(t *testing.T) {
	t.Parallel()
	locker := Identity{LocationID: "A"}
	centre := Identity{Centre: true}
	cases := []struct {
		name  string
		id    Identity
		topic string
		write bool
		want  bool
	}{
		{"locker publishes its events", locker, Topic("A", KindEvents), true, true},
		{"locker publishes its status", locker, Topic("A", KindStatus), true, true},
		{"locker publishes its commands", locker, Topic("A", KindCommands), true, false},
		{"locker publishes its acks", locker, Topic("A", KindAcks), true, false},
		{"locker publishes another's events", locker, Topic("B", KindEvents), true, false},
		{"locker publishes another's status", locker, Topic("B", KindStatus), true, false},
		{"locker publishes outside the prefix", locker, "other/A/events", true, false},
		{"locker publishes an unknown kind", locker, Prefix + "A/other", true, false},
		{"locker subscribes its commands", locker, Topic("A", KindCommands), false, true},
		{"locker subscribes its acks", locker, Topic("A", KindAcks), false, true},
		{"locker subscribes its events", locker, Topic("A", KindEvents), false, false},
		{"locker subscribes its status", locker, Topic("A", KindStatus), false, false},
		{"locker subscribes another's commands", locker, Topic("B", KindCommands), false, false},
		{"locker subscribes a wildcard over its own", locker, Prefix + "A/#", false, false},
		{"locker subscribes + for commands", locker, Prefix + "+/commands", false, false},
		{"locker subscribes #", locker, "#", false, false},
		{"locker shared subscription", locker, "$share/g/" + Topic("A", KindCommands), false, false},
		{"locker with a wildcard ID", Identity{LocationID: "+"}, Topic("+", KindCommands), false, false},
		{"locker with a slash in its ID", Identity{LocationID: "A/B"}, Topic("A/B", KindEvents), true, false},
		{"centre publishes a command", centre, Topic("A", KindCommands), true, true},
		{"centre publishes an ack", centre, Topic("A", KindAcks), true, true},
		{"centre publishes a status (clears it)", centre, Topic("A", KindStatus), true, true},
		{"centre publishes with a wildcard", centre, Prefix + "+/commands", true, false},
		{"centre publishes outside the prefix", centre, "other/topic", true, false},
		{"centre publishes on the bare prefix", centre, Prefix, true, false},
		{"centre publishes on a $share topic", centre, "$share/g/" + Topic("A", KindCommands), true, false},
		{"centre subscribes all events", centre, Prefix + "+/events", false, true},
		{"centre subscribes everything under the prefix", centre, Prefix + "#", false, true},
		{"centre subscribes one locker", centre, Topic("A", KindStatus), false, true},
		{"centre shared subscription", centre, "$share/lokero/" + Prefix + "+/events", false, true},
		{"centre shared subscription without group", centre, "$share//" + Prefix + "+/events", false, false},
		{"centre shared subscription with wildcard group", centre, "$share/+/" + Prefix + "+/events", false, false},
		{"centre shared subscription outside the prefix", centre, "$share/g/other/#", false, false},
		{"centre subscribes #", centre, "#", false, false},
		{"centre subscribes $SYS", centre, "$SYS/#", false, false},
		{"centre subscribes a bad filter", centre, Prefix + "a#", false, false},
		{"centre subscribes # not last", centre, Prefix + "#/events", false, false},
		{"centre subscribes above the prefix", centre, "lokero/v1/#", false, false},
		{"nobody publishes", Identity{}, Topic("A", KindEvents), true, false},
		{"nobody subscribes", Identity{}, Topic("A", KindCommands), false, false},
		{"centre with a location ID", Identity{Centre: true, LocationID: "A"}, Topic("A", KindEvents), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Allowed(c.id, c.topic, c.write); got != c.want {
				t.Errorf("Allowed(%+v, %q, write=%v) = %v, want %v", c.id, c.topic, c.write, got, c.want)
			}
		})
	}
}
