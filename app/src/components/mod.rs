pub mod engine_status;
pub mod image_demo;
pub mod model_load;
pub mod sentiment_demo;
pub mod site_chrome;
