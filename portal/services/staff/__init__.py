"""Operations of the staff console (support and sales), Flask-free: take a Session, flush, never commit."""
