// Package routing holds the pure rules that decide which location a shipment
// goes to, and why: every Decision carries the rule that made it and a reason
// a person understands ("Cash on delivery cannot be paid at a LOCKER, which
// has no payment terminal: redirected to …"). It reads the network through
// the Directory interface (the service implements it over its directory
// snapshot) and imports no adapter.
//
// # Rules, in the order they are applied
//
//  1. Food must be insulated: contents "food" without parcel.insulated is
//     refused (food_not_insulated) before anything else is looked at.
//  2. A parcel over the bound of what lokero carries (Limits.OutletMaxDims
//     turned any way, Limits.OutletMaxWeightKG: by default 120 × 60 × 60 cm
//     and 35 kg, the biggest any outlet type takes by default) is taken
//     nowhere: parcel_too_large, even with a fallback.
//  3. A pickup point chosen at checkout (pickup_point_id) is used when the
//     parcel may go there (RulePickupPoint). An unknown id is refused
//     (unknown_pickup_point). A LOCKER serves its building's residents only:
//     it is used only when the recipient's street address and postal code are
//     in its building (Directory.LockersAtBuilding lists it), otherwise
//     locker_residents_only.
//  4. Without a pickup point, a recipient postal code that is a building
//     locker code (00104 for a building at 00100) sends the parcel to the
//     locker in the recipient's building, found from the street address
//     (RuleBuildingLocker); none there is no_locker_at_address.
//  5. Without a pickup point and with an ordinary postal code, the parcel goes
//     to the nearest location to the postal code's point that takes it
//     (RuleNearestPickupPoint): a SMARTPOST with a compartment that fits, or
//     a POSTOFFICE or PICKUPPOINT whose own limit takes it (OutletTakes);
//     with cash on delivery only a SMARTPOST with a payment terminal (that
//     fits) or a POSTOFFICE (that takes it). Nothing within MaxDistanceM, or
//     a postal code without a point, is no_pickup_point.
//
// The place chosen by rule 3 or 4 is then checked, in this order:
//
//   - Size. A parcel that fits no compartment of the chosen locker (LOCKER or
//     SMARTPOST), or weighs more than Limits.LockerMaxWeightKG, or that is
//     more than the chosen outlet's own limit (POSTOFFICE or PICKUPPOINT:
//     Location.MaxParcel, dimensions turned any way and weight), is refused
//     (parcel_too_large, naming the compartment or the limit), or, when the
//     retailer asked for FallbackNearestOutlet, goes to the POSTOFFICE
//     nearest to the chosen place that takes it, or, when no post office
//     within MaxDistanceM does and the parcel is not COD, to the nearest
//     PICKUPPOINT that does (RuleOversizeFallback).
//   - Cash on delivery. COD cannot be paid at a LOCKER, at a SMARTPOST without
//     a payment terminal, or at a PICKUPPOINT: the shipment is redirected to
//     the nearest SMARTPOST with a payment terminal that fits the parcel, or
//     POSTOFFICE that takes it, nearest to the chosen place (RuleCODRedirect).
//
// Overflow gives the alternatives when the chosen locker has no free
// compartment, or the chosen outlet no free shelf place, on the delivery
// date (RuleCapacityOverflow).
//
// # Our choices where the issue is silent
//
//   - Size is checked before cash on delivery, against the place that was
//     chosen (or the building's locker): an oversize parcel without the
//     fallback is refused even when it is COD, rather than silently sent to
//     a post office the retailer did not ask for. With the fallback, the post
//     office it goes to also takes the COD, so COD + oversize + fallback ends
//     at a POSTOFFICE under RuleOversizeFallback.
//   - The residents check of a LOCKER comes before size and COD: a stranger
//     choosing someone else's building locker is an error whatever the parcel.
//     It also applies to any location whose access is "residents".
//   - The fallback and COD searches start at the chosen place (the recipient
//     picked that neighbourhood), not at the recipient's postal code, and
//     reach at most MaxDistanceM (100 km); finding nothing is no_pickup_point
//     with Field "fallback" or "cod" respectively.
//   - Of several lockers in the recipient's building, the first that fits the
//     parcel and (for COD) has a payment terminal is taken; failing that the
//     first that fits; failing that the first (which then meets the size
//     rule).
//   - Searches by distance (rule 5, redirects, fallbacks, overflow) consider
//     only public locations: never a LOCKER, nor a location whose access is
//     "residents", whatever the Directory returns.
//   - An outlet takes a parcel within its own limit (Location.MaxParcel;
//     zero, as in a location not normalised, means its type's default,
//     lokero.DefaultOutletLimit: 120 × 60 × 60 cm at a POSTOFFICE,
//     100 × 60 × 60 cm at a PICKUPPOINT, both 35 kg). Every rule that sends
//     a parcel to an outlet (the chosen point, rule 5, the oversize fallback,
//     the COD redirect, the overflow) takes only one whose limit takes it. A
//     PICKUPPOINT (agent outlet) takes no cash on delivery; a POSTOFFICE does.
//   - Limits.OutletMaxDims and OutletMaxWeightKG stay as one bound over
//     every outlet: the carrier's (its vans and sorting take nothing bigger,
//     whatever a counter's own limit says), by default the biggest any
//     outlet type takes by default. An outlet takes what its limit allows
//     within it.
//   - The oversize fallback keeps its contract from before outlets had
//     their own limits: a post office, which takes the biggest parcels and
//     the COD, the nearest one that takes the parcel even when a pickup
//     point is nearer; a pickup point only when no post office within
//     MaxDistanceM takes it and the parcel is not COD. It applies to a chosen
//     outlet too small for the parcel as to a chosen locker.
//   - Rule 5 is plainly the nearest location that takes the parcel, whatever
//     its type: a retailer that prefers lockers lets the recipient choose one.
//   - A LOCKER's overflow goes first to another locker in the same building
//     that takes the parcel (the recipient lives there), then to the nearest
//     public SMARTPOSTs; a SMARTPOST's overflow goes to the nearest other
//     SMARTPOSTs. With COD only lockers with a payment terminal qualify. An
//     outlet's overflow goes to the nearest other outlets of the same type
//     whose limit takes the parcel.
//   - A zero field of Limits means its default (DefaultLimits).
//   - An unknown Fallback value is an EINVALID error on field "fallback".
//   - Distances in reasons are whole metres below 1 km and kilometres with
//     one decimal from 1 km up; Decision.DistanceM is measured from the
//     recipient's postal code point and is 0 when that point is unknown.
package routing
