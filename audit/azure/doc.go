// Package azure reads the Azure Activity Log and the Microsoft Entra ID
// sign-in logs, as Azure Monitor diagnostic settings export them to a
// storage account or an Event Hub, into audit events.
//
// Decode reads one record, either kind, and says which stage of an
// operation it is. Activity Log operations are logged in stages (Start,
// Accept, then Success or Failure) that share a correlation id, an
// operation name and a resource id; a Pairer joins them so that one
// operation yields one event. Reading a whole file (framing, gzip,
// detection) is audit/auditfile's work.
package azure
