terraform {
  required_version = ">= 1.3.0"

  required_providers {
    huaweicloud = {
      source = "huaweicloud/huaweicloud"
      # The provider's own EventGrid trigger example asks for this version or later.
      version = ">= 1.78.1"
    }
  }
}

# Credentials come from the environment (HW_ACCESS_KEY / HW_SECRET_KEY), never from files
# in this folder.
provider "huaweicloud" {
  region = var.region
}
