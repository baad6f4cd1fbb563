pub mod attract_loop;
pub mod engine_status;
pub mod image_demo;
pub mod model_demo;
pub mod model_load;
pub mod site_chrome;
pub mod staff_exit;
pub mod text_demo;
