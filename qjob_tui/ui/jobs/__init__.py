"""The job list: its rows (sort, filter, marks) and the widget that draws them."""
