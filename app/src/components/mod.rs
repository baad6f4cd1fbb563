pub mod engine_status;
pub mod site_chrome;
