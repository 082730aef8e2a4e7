package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lokero/lokero/notify/webhook"
)

// Example_verify shows how a retailer's server verifies a lokero webhook in
// Go with the Standard Webhooks library
// (go get github.com/standard-webhooks/standard-webhooks/libraries), and
// then lokero sending it one.
func Example_verify() {
	// The webhook's secret, as lokero showed it when the webhook was
	// created ("whsec_..."). Keep it out of the code: read it from the
	// environment or a secret store.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		log.Fatal(err)
	}

	// The retailer's handler.
	handler := func(w http.ResponseWriter, r *http.Request) {
		// Verify the raw body, as it came, before decoding it.
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		// Verify checks the signature (any one of the webhook-signature
		// header's, so it keeps working while lokero rotates the secret)
		// and that webhook-timestamp is within 5 minutes of now.
		if err := wh.Verify(payload, r.Header); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var event struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(payload, &event); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		// lokero retries a delivery under the same webhook-id until it
		// gets a 2xx: remember the ids you have handled and skip repeats.
		fmt.Printf("verified %s %s: %s\n", r.Header.Get("webhook-id"), event.Type, event.Data)
		w.WriteHeader(http.StatusNoContent) // answer quickly; work later
	}
	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()

	// lokero's side: one delivery.
	payload, err := webhook.Event{
		Type:      "shipment.ready_for_pickup",
		Timestamp: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC),
		Data:      map[string]string{"tracking_code": "JJFI64000000000001"},
	}.JSON()
	if err != nil {
		log.Fatal(err)
	}
	client := webhook.New(webhook.Options{AllowPrivate: true}) // a test server on 127.0.0.1
	status, err := client.Send(context.Background(), webhook.Request{
		ID:        "msg_01JEXAMPLE0000000000000000",
		Timestamp: time.Now(),
		Payload:   payload,
		Secrets:   []string{secret},
		URL:       srv.URL + "/webhooks/lokero",
	})
	fmt.Println(status, err)
	// Output:
	// verified msg_01JEXAMPLE0000000000000000 shipment.ready_for_pickup: {"tracking_code":"JJFI64000000000001"}
	// 204 <nil>
}
