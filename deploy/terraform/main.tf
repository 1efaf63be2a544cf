# obs-mpu-janitor on FunctionGraph with the huaweicloud provider: the function, its agency
# with a least-privilege policy, a TIMER trigger for sweeps and an EVENTGRID trigger for
# object events (the only route to OBS events on the China site, where FunctionGraph has
# no OBS trigger). Arguments follow the provider's docs/resources/*.md; see README.md.

locals {
  obs_buckets = [for b in var.buckets : "obs:*:*:bucket:${b}"]
  obs_objects = [for b in var.buckets : "obs:*:*:object:${b}/*"]

  obs_statements = concat(
    [
      {
        Effect   = "Allow"
        Action   = ["obs:bucket:ListBucketMultipartUploads", "obs:bucket:GetLifecycleConfiguration"]
        Resource = local.obs_buckets
      },
      {
        Effect   = "Allow"
        Action   = ["obs:object:ListMultipartUploadParts", "obs:object:AbortMultipartUpload"]
        Resource = local.obs_objects
      },
    ],
    var.report_bucket == "" ? [] : [
      {
        Effect   = "Allow"
        Action   = ["obs:object:PutObject"]
        Resource = ["obs:*:*:object:${var.report_bucket}/${var.report_prefix}*"]
      },
    ],
  )

  user_data = merge(
    {
      OBS_REGION           = var.region
      ALLOWED_BUCKETS      = join(",", var.buckets)
      SAFETY_MARGIN_MS     = "10000"
      OBS_MAX_RETRY_COUNT  = "3"
      OBS_TIMEOUT_S        = "30"
      SWEEP_MIN_AGE        = "24h"
      SWEEP_CONCURRENCY    = "16"
      SWEEP_CHECK_ACTIVITY = "true"
      OBJECT_EVENT_GRACE   = "1h"
      SWEEP_MODE           = var.fanout ? "fanout" : "direct"
      FANOUT_MAX_IN_FLIGHT = "10"
      FANOUT_REGION        = var.region
    },
    var.extra_user_data,
  )
}

# OBS is a global service in IAM: its custom policy has the global display mode (AX).
resource "huaweicloud_identity_role" "obs" {
  name        = "${var.function_name}-obs"
  description = "obs-mpu-janitor: list and abort multipart uploads in its buckets only"
  type        = "AX"
  policy = jsonencode({
    Version   = "1.1"
    Statement = local.obs_statements
  })
}

# FunctionGraph is regional (XA); only needed when sweeps fan out to async invocations.
resource "huaweicloud_identity_role" "invoke" {
  count = var.fanout ? 1 : 0

  name        = "${var.function_name}-invoke-async"
  description = "obs-mpu-janitor: invoke functions asynchronously (fan-out sweeps)"
  type        = "XA"
  policy = jsonencode({
    Version = "1.1"
    Statement = [
      {
        Effect = "Allow"
        Action = ["functiongraph:function:invokeAsync"]
      },
    ]
  })
}

# The agency FunctionGraph assumes for the function: getSecurityAccessKey/SecretKey/Token
# and getToken return its temporary credentials. op_svc_cff is FunctionGraph's service
# domain (the FunctionGraph Terraform samples of Open Telekom Cloud delegate to it).
resource "huaweicloud_identity_agency" "janitor" {
  name                  = "${var.function_name}-agency"
  description           = "obs-mpu-janitor function agency"
  delegated_domain_name = "op_svc_cff"
  domain_roles          = [huaweicloud_identity_role.obs.name]

  dynamic "project_role" {
    for_each = var.fanout ? [1] : []
    content {
      project = var.region
      roles   = [huaweicloud_identity_role.invoke[0].name]
    }
  }
}

resource "huaweicloud_fgs_function" "janitor" {
  name          = var.function_name
  app           = "default"
  description   = "Aborts abandoned OBS multipart uploads"
  handler       = "index.handler"
  runtime       = var.runtime
  memory_size   = var.memory_size
  timeout       = var.timeout
  code_type     = "zip"
  code_filename = basename(var.package_zip)
  func_code     = filebase64(var.package_zip)
  agency        = huaweicloud_identity_agency.janitor.name
  user_data     = jsonencode(local.user_data)
}

resource "huaweicloud_fgs_function_trigger" "sweep" {
  function_urn = huaweicloud_fgs_function.janitor.urn
  type         = "TIMER"
  status       = "ACTIVE"
  event_data = jsonencode({
    name          = "obs_mpu_sweep"
    schedule_type = "Rate"
    schedule      = var.sweep_schedule
    user_event    = jsonencode(merge({ buckets = var.buckets }, var.sweep_settings))
  })
}

data "huaweicloud_eg_event_channels" "default" {
  count = var.object_events ? 1 : 0

  provider_type = "OFFICIAL"
  name          = "default"
}

# Key_encode = true: EventGrid URL-encodes object keys, as OBS notifications do; the
# function decodes them (unquote_plus). With it off a key such as a+b would arrive raw
# and be decoded to "a b", another key.
resource "huaweicloud_fgs_function_trigger" "object_events" {
  count = var.object_events ? 1 : 0

  function_urn                   = huaweicloud_fgs_function.janitor.urn
  type                           = "EVENTGRID"
  status                         = "ACTIVE"
  cascade_delete_eg_subscription = true
  event_data = jsonencode({
    channel_id   = try(data.huaweicloud_eg_event_channels.default[0].channels[0].id, "")
    channel_name = try(data.huaweicloud_eg_event_channels.default[0].channels[0].name, "")
    source_name  = "HC.OBS.DWR"
    trigger_name = "${var.function_name}-objects"
    agency       = var.eventgrid_agency
    bucket       = var.buckets[0]
    event_types  = var.eventgrid_event_types
    Key_encode   = true
  })

  lifecycle {
    # FunctionGraph does not return all of event_data, which would show as a change.
    ignore_changes = [event_data]

    precondition {
      condition     = var.eventgrid_agency != ""
      error_message = "object_events needs eventgrid_agency (an agency letting FunctionGraph use EventGrid)."
    }
  }
}
