"""Reports written from stored metrics: the news-style brief."""
