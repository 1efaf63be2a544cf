output "function_urn" {
  description = "URN of the function (FANOUT_FUNCTION_URN, if set by hand)."
  value       = huaweicloud_fgs_function.janitor.urn
}

output "agency_name" {
  description = "The function's IAM agency."
  value       = huaweicloud_identity_agency.janitor.name
}

output "timer_trigger_id" {
  description = "ID of the TIMER trigger."
  value       = huaweicloud_fgs_function_trigger.sweep.id
}

output "object_events_trigger_id" {
  description = "ID of the EVENTGRID trigger, or null when object_events is false."
  value       = try(huaweicloud_fgs_function_trigger.object_events[0].id, null)
}
