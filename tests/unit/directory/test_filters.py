"""The directory search's filter menus write their options in Python: the same markup a
template's loop gave, every value and label escaped."""

from directory.filters import SelectMenu


def test_options_are_written_escaped_and_the_chosen_one_selected():
    menu = SelectMenu(
        field=None,
        options=[
            ("", "Any language", False),
            ("7", 'Spanish <b>"español"</b> & more', True),
            ('8" onfocus="x', "Tagalog", False),
        ],
    )
    assert str(menu.options_html) == (
        '<option value="">Any language</option>'
        '<option value="7" selected>Spanish &lt;b&gt;&quot;español&quot;&lt;/b&gt; &amp; more'
        "</option>"
        '<option value="8&quot; onfocus=&quot;x">Tagalog</option>'
    )


def test_no_options_write_nothing():
    assert str(SelectMenu(field=None, options=[]).options_html) == ""
