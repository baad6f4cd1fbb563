pub mod embed;
pub mod insights;
pub mod kiosk;
pub mod landing;
pub mod not_found;
pub mod tour;
