variable "region" {
  description = "Region of the function, the buckets and the triggers, e.g. cn-north-4."
  type        = string
}

variable "function_name" {
  description = "Name of the FunctionGraph function."
  type        = string
  default     = "obs-mpu-janitor"
}

variable "package_zip" {
  description = "The deploy zip built by `make package` (path relative to this folder)."
  type        = string
  default     = "../../dist/obs-mpu-janitor.zip"
}

variable "runtime" {
  description = "FunctionGraph runtime; must match the Python the zip was built for (make package PYTHON_VERSION=...)."
  type        = string
  default     = "Python3.12"
}

variable "memory_size" {
  description = "Memory in MB; a sweep holds one listing page at a time."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Seconds; synchronous invocations stop at 900 s whatever is set here."
  type        = number
  default     = 900
}

variable "buckets" {
  description = "Buckets the janitor may abort uploads in (ALLOWED_BUCKETS) and the agency may touch."
  type        = list(string)
}

variable "report_bucket" {
  description = "Bucket the janitor may write sweep reports to (PutObject only); empty for none."
  type        = string
  default     = ""
}

variable "report_prefix" {
  description = "Key prefix inside report_bucket that PutObject is limited to."
  type        = string
  default     = "obs-mpu-janitor/"
}

variable "sweep_schedule" {
  description = "Rate of the timer sweep: <n>m (1-60), <n>h (1-24) or <n>d (1-30)."
  type        = string
  default     = "1h"
}

variable "sweep_settings" {
  description = "The timer's user event: the sweep's settings (README, \"Sweeps\")."
  type        = any
  default = {
    min_age          = "24h"
    exclude_prefixes = []
    dry_run          = true
    max_aborts       = 10000
  }
}

variable "fanout" {
  description = "Run sweeps as asynchronous invocations of this function (SWEEP_MODE=fanout); grants functiongraph:function:invokeAsync."
  type        = bool
  default     = false
}

variable "object_events" {
  description = "Add the EVENTGRID trigger that cleans a written object's orphaned uploads."
  type        = bool
  default     = true
}

variable "eventgrid_agency" {
  description = "Existing IAM agency that lets FunctionGraph create the EventGrid subscription (the provider's example calls it fgs_to_eg)."
  type        = string
  default     = ""
}

variable "eventgrid_event_types" {
  description = "OBS events (EventGrid source HC.OBS.DWR) that reach the function."
  type        = list(string)
  default     = ["OBS:DWR:ObjectCreated:PUT", "OBS:DWR:ObjectCreated:POST"]
}

variable "extra_user_data" {
  description = "More environment variables of the function (README, \"Configuration\")."
  type        = map(string)
  default     = {}
}
