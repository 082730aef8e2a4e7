// Package locker holds the pure rules of a parcel locker: how its
// compartments are numbered and which one a parcel gets (Layout, Allocate),
// the opening codes a recipient types at the keypad (Codes), and the keypad's
// lockout after wrong entries (CodePolicy, Keypad). It reads no clock, keeps
// no state between calls and imports no adapter: the service passes the time
// in, and stores the Keypad state and the code hashes in its database.
//
// # Compartments
//
// Layout numbers a locker's compartments 1..N from its size classes, class by
// class in the order given. Allocate gives a parcel the smallest free
// compartment it fits turned any way (by volume, then by the largest
// dimension, then the lowest number), so that big compartments stay free for
// big parcels.
//
// # Opening codes
//
// A code is L random decimal digits from a CSPRNG, drawn uniformly by
// rejection sampling (a byte b is used only when b < 250, as b mod 10). It is
// stored only as HMAC-SHA256(server secret, location id ‖ code): the same
// code at two lockers hashes differently, and a copy of the database without
// the secret does not reveal codes (10^L candidates per hash can be checked
// only with the secret). The clear code leaves the system only in the notice
// of arrival. Uniqueness among a locker's active codes is the caller's check
// (draw again on a clash).
//
// # Code length and lockout, chosen together
//
// With A active parcel codes at a locker and codes of L digits, one guess at
// the keypad opens somebody's compartment with probability A/10^L. Only
// parcel codes count in A: a return or pre-paid code opens an empty
// compartment, and A can be no larger than the number of occupied
// compartments.
//
// The keypad rate-limits guesses. 5 wrong entries within 10 minutes lock it
// for 1, 5, 15, then 60 minutes (the last repeating). That alone still allows
// about 5 guesses an hour, ~120 a day, ~44,000 a year per keypad, so the
// policy adds a daily cap W: after W wrong entries in a Helsinki day the
// keypad refuses every code until the next Helsinki midnight. An attacker
// therefore gets at most W·365 guesses a year per keypad, and
//
//	expected openings by guessing per locker-year = A · W · 365 / 10^L
//
// For a network of 2,000 public SMARTPOSTs and 10,000 building LOCKERs, with
// W = 20 (7,300 guesses per keypad-year) and every keypad attacked up to its
// cap every day of the year (the worst case):
//
//	                                 per locker-year        network per year
//	A = 100 at every locker, Posti's lengths (9 outdoors, 6 indoors):
//	  SMARTPOST, L = 9               100·7300/10^9  = 7.3e-4    × 2,000 =     1.46
//	  LOCKER,    L = 6               100·7300/10^6  = 0.73      × 10,000 = 7,300
//	A = 100 at every locker, the defaults (11 outdoors, 10 indoors):
//	  SMARTPOST, L = 11              100·7300/10^11 = 7.3e-6    × 2,000 =     0.015
//	  LOCKER,    L = 10              100·7300/10^10 = 7.3e-5    × 10,000 =    0.73
//	                                                            total        ≈ 0.74
//	Realistic occupancy (SMARTPOST A = 100, LOCKER A = 10), the defaults:
//	  SMARTPOST, L = 11              100·7300/10^11 = 7.3e-6    × 2,000 =     0.015
//	  LOCKER,    L = 10               10·7300/10^10 = 7.3e-6    × 10,000 =    0.073
//	                                                            total        ≈ 0.09
//
// Why these defaults (DefaultPolicy):
//
//   - The target is far less than one compartment a year opened by guessing
//     across the whole network. Six-digit codes cannot reach it with any
//     daily cap: a single wrong entry a day per building keypad (W = 1)
//     still gives 10,000 · 10 · 365 / 10^6 ≈ 37 openings a year at ten
//     active codes a building (365 at a hundred). The length, not the
//     lockout, is the lever: each digit divides the figure by ten, while the
//     lockout schedule can only trade guesses for denial of service.
//   - Realistic occupancy: a big public SMARTPOST does run full, so A = 100
//     is kept for it; a building LOCKER has some 10–30 compartments, so about
//     10 of them hold a parcel at a time (100 codes would need more
//     compartments than a building locker has). With 11 digits outdoors and
//     10 indoors the network figure is about 0.09 a year, one compartment in
//     about eleven years, and that with every one of the 12,000 keypads
//     attacked to its cap every single day; even at A = 100 everywhere it
//     stays below one (0.74).
//   - Longer codes outdoors: a SMARTPOST keypad can be tried by anyone,
//     anonymously, at any hour, and holds the most parcels; a LOCKER's only by
//     people inside a locked building. One digit more outdoors keeps the
//     public lockers' share two orders of magnitude below the target.
//   - W = 20 lets the schedule play 1, 5 and 15 minutes before the cap (the
//     20th wrong entry of the day is also the 4th lockout), which is room for
//     a day of honest typing mistakes at a busy locker. Halving the cap only
//     halves the figures above (one more digit divides them by ten), and
//     would let a vandal shut a public keypad for the day with ten entries;
//     with W = 20 that takes at least 21 minutes of lockouts. Any per-keypad cap
//     allows such denial of service: the service should alert the operator
//     when a keypad reaches its cap.
//   - Codes of 10–11 digits are typed from an SMS, like a phone number;
//     Codes.Hash ignores spaces, so a notice may group the digits
//     ("123 4567 8901").
package locker
