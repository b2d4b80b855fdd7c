"""The city reference page: a search form with autocomplete, results for staff only."""


def test_staff_search_cities_by_any_name_on_the_page(as_role):
    response = as_role("viewer").get("/network/cities", query_string={"q": "東京", "country": "jp"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Tokyo" in html and "Asia/Tokyo" in html and 'data-city-autocomplete="/api/v1/cities"' in html


def test_external_accounts_may_not_open_the_city_reference(as_role):
    assert as_role("delegate", partner_id=1).get("/network/cities?q=tok").status_code == 403
